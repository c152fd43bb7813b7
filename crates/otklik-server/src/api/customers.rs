//! `/api/v1/customers/{id}`: one customer with their identities and cases across channels, and
//! the changes a manager makes to a customer (name, VIP).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use otklik_core::Customer;

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

fn customer_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| ApiError::NotFound(format!("no customer `{id}`")))
}
