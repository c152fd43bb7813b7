//! `/api/v1/nps/campaigns`: NPS campaigns — "how likely are you to recommend us, 0 to 10?" sent
//! to a chosen list of customers by e-mail, SMS or Telegram, each through the outbox; the answers
//! (a lone number in reply, or a Telegram button) are counted as promoters (9–10), passives
//! (7–8) and detractors (0–6). Managers and admins.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use otklik_app::surveys::NewCampaign;
use otklik_core::Channel;
use otklik_store::NpsCampaign;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{RawBody, parse_json};
use crate::auth::Principal;
use crate::problem::{ApiError, Problem};
use crate::startup::AppState;

/// A campaign and how it went.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignView {
    pub id: i64,
    pub name: String,
    /// `email`, `sms` or `telegram`.
    pub channel: Channel,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Customers asked.
    pub requested: i64,
    /// Questions that left (sent, or delivered where the channel says so).
    pub sent: i64,
    /// Questions that could not be delivered.
    pub failed: i64,
    pub answered: i64,
    /// Answered 9 or 10.
    pub promoters: i64,
    /// Answered 7 or 8.
    pub passives: i64,
    /// Answered 0 to 6.
    pub detractors: i64,
    /// The Net Promoter Score: the percentage of promoters less that of detractors (-100 to
    /// 100); null before anyone answered.
    pub nps: Option<i64>,
}

impl From<NpsCampaign> for CampaignView {
    fn from(campaign: NpsCampaign) -> CampaignView {
        CampaignView {
            nps: campaign.score(),
            answered: campaign.answered(),
            id: campaign.id,
            name: campaign.name,
            channel: campaign.channel,
            created_by: campaign.created_by,
            created_at: campaign.created_at,
            requested: campaign.requested,
            sent: campaign.sent,
            failed: campaign.failed,
            promoters: campaign.promoters,
            passives: campaign.passives,
            detractors: campaign.detractors,
        }
    }
}

/// A started campaign, and the customers it could not ask.
#[derive(Debug, Serialize, ToSchema)]
pub struct StartedView {
    pub campaign: CampaignView,
    /// Listed customers who were not asked: unknown, or with no address on the channel.
    pub skipped: Vec<i64>,
}

/// A campaign to start.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCampaignRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// `email`, `sms` or `telegram`.
    pub channel: Channel,
    /// The customers to ask (ids), each once: 1 to 10,000.
    #[schema(min_items = 1, max_items = 10000)]
    pub customers: Vec<i64>,
}

/// Every campaign, newest first, with its tallies.
#[utoipa::path(
    get, path = "/api/v1/nps/campaigns", tag = "surveys",
    responses(
        (status = 200, description = "The campaigns", body = [CampaignView]),
        (status = 403, description = "Neither a manager nor an admin", body = Problem),
    )
)]
pub async fn list(State(state): State<AppState>, principal: Principal) -> Result<Json<Vec<CampaignView>>, ApiError> {
    let campaigns = state.app.nps_campaigns(&principal).await?;
    Ok(Json(campaigns.into_iter().map(CampaignView::from).collect()))
}

/// Start a campaign: each listed customer with an address on the channel gets the question,
/// through the outbox, in their language.
#[utoipa::path(
    post, path = "/api/v1/nps/campaigns", tag = "surveys",
    request_body = NewCampaignRequest,
    responses(
        (status = 201, description = "Started", body = StartedView),
        (status = 403, description = "Neither a manager nor an admin", body = Problem),
        (status = 422, description = "A field is wrong, or no listed customer can be written to on the channel", body = Problem),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<(StatusCode, Json<StartedView>), ApiError> {
    let request = parse_json::<NewCampaignRequest>(&headers, &body)?;
    let new = NewCampaign { name: request.name, channel: request.channel, customers: request.customers };
    let started = state.app.start_nps_campaign(&principal, new).await?;
    Ok((StatusCode::CREATED, Json(StartedView { campaign: started.campaign.into(), skipped: started.skipped })))
}

/// One campaign with its tallies.
#[utoipa::path(
    get, path = "/api/v1/nps/campaigns/{id}", tag = "surveys",
    params(("id" = i64, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The campaign", body = CampaignView),
        (status = 403, description = "Neither a manager nor an admin", body = Problem),
        (status = 404, description = "No such campaign", body = Problem),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound(format!("no NPS campaign `{id}`")))?;
    Ok(Json(state.app.nps_campaign(&principal, id).await?.into()))
}
