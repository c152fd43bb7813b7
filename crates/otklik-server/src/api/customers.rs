//! `/api/v1/customers/{id}`: one customer with their identities and cases across channels, and
//! the changes a manager makes to a customer (name, VIP); merging two records of one person and
//! adding an identity.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use otklik_core::{Customer, IdentityKind};
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::{CaseSummary, CustomerPatchRequest, CustomerView};
use super::{RawBody, parse_json};
use crate::auth::Principal;
use crate::problem::{ApiError, Problem};
use crate::startup::AppState;

/// A customer with every case they opened, on any channel, newest first.
#[utoipa::path(
    get, path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = i64, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The customer", body = CustomerView),
        (status = 404, description = "No such customer", body = Problem),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<CustomerView>, ApiError> {
    let id = customer_id(&id)?;
    let detail = state.app.customer(&principal, id).await?;
    Ok(Json(CustomerView {
        customer: detail.customer,
        cases: detail.cases.into_iter().map(CaseSummary::from).collect(),
        events: detail.events,
    }))
}

/// Change a customer: their name, or whether they are a VIP (a VIP's next cases get a higher
/// priority). Managers and admins only.
#[utoipa::path(
    patch, path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = i64, Path, description = "Customer id")),
    request_body = CustomerPatchRequest,
    responses(
        (status = 200, description = "The changed customer", body = Customer),
        (status = 403, description = "Not a manager or admin", body = Problem),
        (status = 404, description = "No such customer", body = Problem),
        (status = 409, description = "An identity's customer, or this one, was merged into another already", body = Problem),
        (status = 422, description = "A field is wrong, or nothing to change", body = Problem),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<Customer>, ApiError> {
    let patch = parse_json::<CustomerPatchRequest>(&headers, &body)?.parse()?;
    let id = customer_id(&id)?;
    Ok(Json(state.app.update_customer(&principal, id, &patch).await?))
}

/// Another customer record of the same person, to merge into this one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The customer whose identities, cases and history move into this one; their record
    /// keeps only where it went.
    pub from: i64,
}

/// Merge another customer record of the same person into this one: their identities, cases
/// and history move here, nothing is lost, and both records show the merge.
#[utoipa::path(
    post, path = "/api/v1/customers/{id}/merge", tag = "customers",
    params(("id" = i64, Path, description = "The customer to keep")),
    request_body = MergeRequest,
    responses(
        (status = 200, description = "The customer kept, with every identity", body = Customer),
        (status = 404, description = "No such customer", body = Problem),
        (status = 409, description = "One of them was merged already", body = Problem),
        (status = 422, description = "A customer cannot be merged into themselves", body = Problem),
    )
)]
pub async fn merge(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<Customer>, ApiError> {
    let request = parse_json::<MergeRequest>(&headers, &body)?;
    let id = customer_id(&id)?;
    if request.from == id {
        return Err(ApiError::Unprocessable("from: a customer cannot be merged into themselves".into()));
    }
    Ok(Json(state.app.merge_customers(&principal, id, request.from).await?))
}

/// A way to reach or recognise a customer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityRequest {
    pub kind: IdentityKind,
    /// The address, phone, Telegram id or username, or handle.
    #[schema(max_length = 254)]
    pub value: String,
}

/// Add an identity to a customer (an e-mail address, a phone, a Telegram id, a handle): their
/// messages from it then join this customer.
#[utoipa::path(
    post, path = "/api/v1/customers/{id}/identities", tag = "customers",
    params(("id" = i64, Path, description = "Customer id")),
    request_body = IdentityRequest,
    responses(
        (status = 201, description = "The customer with the new identity", body = Customer),
        (status = 404, description = "No such customer", body = Problem),
        (status = 409, description = "The identity is another customer's: merge them instead", body = Problem),
        (status = 422, description = "The value is not such an identity", body = Problem),
    )
)]
pub async fn add_identity(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<(StatusCode, Json<Customer>), ApiError> {
    let request = parse_json::<IdentityRequest>(&headers, &body)?;
    let id = customer_id(&id)?;
    let customer = state.app.add_identity(&principal, id, request.kind.as_str(), &request.value).await?;
    Ok((StatusCode::CREATED, Json(customer)))
}

fn customer_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| ApiError::NotFound(format!("no customer `{id}`")))
}
