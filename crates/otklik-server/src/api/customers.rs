//! `/api/v1/customers/{id}`: one customer with their identities and cases across channels, and
//! the changes a manager makes to a customer (name, VIP); merging two records of one person and
//! adding an identity.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use otklik_core::{Customer, IdentityKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::feedback::case_view_for;
use super::views::{CaseSummary, CaseView, CustomerPatchRequest, CustomerView};
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

/// Everything stored about a customer: their record, identities and history, and every case of
/// theirs with its messages, events and attachments.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerExportView {
    pub customer: CustomerView,
    pub cases: Vec<CaseView>,
}

/// Everything stored about a customer, as JSON (a customer's request for their data). Admins
/// only (the right `erase_personal_data`).
#[utoipa::path(
    get, path = "/api/v1/customers/{id}/export", tag = "customers",
    params(("id" = i64, Path, description = "Customer id")),
    responses(
        (status = 200, description = "Everything stored about the customer", body = CustomerExportView),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 404, description = "No such customer", body = Problem),
    )
)]
pub async fn export(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<CustomerExportView>, ApiError> {
    let id = customer_id(&id)?;
    let export = state.app.export_customer(&principal, id).await?;
    Ok(Json(export_view(&state.app, export)))
}

/// The export as JSON (the API's and `otklik customer export`'s).
pub fn export_view(app: &otklik_app::App, export: otklik_app::personal_data::CustomerExport) -> CustomerExportView {
    let detail = export.customer;
    CustomerExportView {
        customer: CustomerView {
            customer: detail.customer,
            cases: detail.cases.into_iter().map(CaseSummary::from).collect(),
            events: detail.events,
        },
        cases: export.cases.into_iter().map(|case| case_view_for(app, case)).collect(),
    }
}

/// What erasing changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasedView {
    /// The customer and the records merged into it.
    pub customers: u64,
    pub identities: u64,
    pub cases: u64,
    /// Texts and values that held their personal data.
    pub values: u64,
}

/// Erase a customer's personal data: their name, identities and the personal data in their
/// cases' messages, subjects, tasks, notes and history become a placeholder; the cases and the
/// figures stay; who erased and when is recorded. Admins only (the right `erase_personal_data`).
#[utoipa::path(
    post, path = "/api/v1/customers/{id}/erase", tag = "customers",
    params(("id" = i64, Path, description = "Customer id")),
    responses(
        (status = 200, description = "Erased", body = ErasedView),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 404, description = "No such customer", body = Problem),
        (status = 409, description = "The customer was merged into another: erase that one", body = Problem),
    )
)]
pub async fn erase(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<ErasedView>, ApiError> {
    let id = customer_id(&id)?;
    let erased = state.app.erase_customer(&principal, id).await?;
    Ok(Json(ErasedView {
        customers: erased.customers,
        identities: erased.identities,
        cases: erased.cases,
        values: erased.values,
    }))
}

fn customer_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| ApiError::NotFound(format!("no customer `{id}`")))
}
