//! `/api/v1/customers/{id}`: one customer with their identities and cases across channels.

use axum::Json;
use axum::extract::{Path, State};
use otklik_core::Role;

use super::views::{CaseSummary, CustomerView};
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
    principal.require(Role::can_read_cases, "read customers")?;
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound(format!("no customer `{id}`")))?;
    let detail = state.store.customer(id).await?;
    Ok(Json(CustomerView {
        customer: detail.customer,
        cases: detail.cases.into_iter().map(CaseSummary::from).collect(),
    }))
}
