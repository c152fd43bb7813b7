//! `/api/v1/locations`: the business's locations, each with its public complaint book
//! (`/f/{slug}`). Anyone reading cases lists them; managers and admins add and change them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use otklik_app::locations::NewLocation;
use otklik_store::{Location, LocationPatch};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::views::{nullable, present};
use super::{RawBody, parse_json};
use crate::auth::Principal;
use crate::problem::{ApiError, Problem};
use crate::startup::AppState;

/// A location.
#[derive(Debug, Serialize, ToSchema)]
pub struct LocationView {
    pub slug: String,
    pub name: String,
    pub address: Option<String>,
    /// IANA time zone; the business's when null.
    pub time_zone: Option<String>,
    /// Working hours in one line; the business's when null.
    pub hours: Option<String>,
    /// An inactive location's complaint book takes no feedback.
    pub active: bool,
    /// The location's public complaint book.
    pub form_url: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl LocationView {
    fn of(location: Location, public_url: &str) -> LocationView {
        LocationView {
            form_url: format!("{public_url}/f/{}", location.slug),
            slug: location.slug,
            name: location.name,
            address: location.address,
            time_zone: location.time_zone,
            hours: location.hours,
            active: location.active,
            created_at: location.created_at,
        }
    }
}

/// A new location.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLocationRequest {
    /// 2 to 64 lowercase Latin letters, digits and inner hyphens: the form's address `/f/{slug}`.
    #[schema(pattern = r"^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$")]
    pub slug: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, max_length = 500)]
    pub address: Option<String>,
    /// An IANA time zone such as `Europe/Kyiv`.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub time_zone: Option<String>,
    /// Working hours in one line, `mon-fri 09:00-18:00; sat 10:00-16:00`; the business's when absent.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub hours: Option<String>,
}

/// Changes to a location; absent fields stay as they are, `null` clears the address or time zone.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationPatchRequest {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub time_zone: Option<Option<String>>,
    /// Working hours in one line; `null` returns to the business's.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub hours: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

/// Every location, by slug.
#[utoipa::path(
    get, path = "/api/v1/locations", tag = "locations",
    responses((status = 200, description = "The locations", body = [LocationView]))
)]
pub async fn list(State(state): State<AppState>, principal: Principal) -> Result<Json<Vec<LocationView>>, ApiError> {
    let locations = state.app.locations(&principal).await?;
    let public_url = state.app.public_url();
    Ok(Json(locations.into_iter().map(|location| LocationView::of(location, public_url)).collect()))
}

/// Add a location (managers and admins).
#[utoipa::path(
    post, path = "/api/v1/locations", tag = "locations",
    request_body = NewLocationRequest,
    responses(
        (status = 201, description = "The new location", body = LocationView),
        (status = 403, description = "Not a manager or admin", body = Problem),
        (status = 409, description = "The slug is taken", body = Problem),
        (status = 422, description = "A field is wrong", body = Problem),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let request: NewLocationRequest = parse_json(&headers, &body)?;
    let new = NewLocation {
        slug: request.slug,
        name: request.name,
        address: request.address,
        time_zone: request.time_zone,
        hours: request.hours,
    };
    let location = state.app.create_location(&principal, new).await?;
    Ok((StatusCode::CREATED, Json(LocationView::of(location, state.app.public_url()))).into_response())
}

/// Change a location: name, address, time zone, or whether its book takes feedback.
#[utoipa::path(
    patch, path = "/api/v1/locations/{slug}", tag = "locations",
    params(("slug" = String, Path, description = "The location's slug")),
    request_body = LocationPatchRequest,
    responses(
        (status = 200, description = "The changed location", body = LocationView),
        (status = 403, description = "Not a manager or admin", body = Problem),
        (status = 404, description = "No such location", body = Problem),
        (status = 422, description = "A field is wrong, or nothing to change", body = Problem),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<LocationView>, ApiError> {
    let request: LocationPatchRequest = parse_json(&headers, &body)?;
    let patch = LocationPatch {
        name: request.name,
        address: request.address,
        time_zone: request.time_zone,
        hours: request.hours,
        active: request.active,
    };
    let location = state.app.update_location(&principal, &slug, patch).await?;
    Ok(Json(LocationView::of(location, state.app.public_url())))
}
