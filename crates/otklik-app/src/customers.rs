//! Customers: one customer with their cases across channels, and the changes a manager makes to
//! a customer's record (name, VIP).

use otklik_core::{Customer, CustomerPatch, Identity, Right};
use otklik_store::CustomerDetail;

use crate::error::missing;
use crate::{Actor, App, AppError};

impl App {
    /// A customer with every case they opened, on any channel, newest first.
    pub async fn customer(&self, actor: &Actor, id: i64) -> Result<CustomerDetail, AppError> {
        actor.require(Right::ReadCases)?;
        self.store.customer(id).await.map_err(missing(|| format!("no customer `{id}`")))
    }

    /// Changes a customer's name or VIP flag (a VIP's next cases get a higher priority).
    pub async fn update_customer(&self, actor: &Actor, id: i64, patch: &CustomerPatch) -> Result<Customer, AppError> {
        actor.require(Right::ManageCustomers)?;
        if patch.is_empty() {
            return Err(AppError::Invalid("the patch changes nothing: give `name`, `vip` or `identities`".into()));
        }
        self.store
            .update_customer(id, patch, actor.stamp(&*self.clock))
            .await
            .map_err(missing(|| format!("no customer `{id}`")))
    }
}

/// An identity as given: its kind (`email`, `phone`, `telegram`, `handle`) and value.
pub fn parse_identity(kind: &str, value: &str) -> Result<Identity, AppError> {
    let parsed = match kind {
        "email" => Identity::email(value),
        "phone" => Identity::phone(value),
        "telegram" => Identity::telegram(value),
        "handle" => Identity::handle(value),
        other => {
            return Err(AppError::Invalid(format!("kind: `{other}` is not one of email, phone, telegram, handle")));
        }
    };
    parsed.map_err(|error| AppError::Invalid(format!("identities: {error}")))
}

impl App {
    /// Merges customer `from` into `into` (one person known twice: by e-mail here, by phone
    /// there). Nothing is lost: `from`'s identities, cases and history move to `into`, and both
    /// records say so.
    pub async fn merge_customers(&self, actor: &Actor, into: i64, from: i64) -> Result<Customer, AppError> {
        actor.require(Right::WorkCases)?;
        self.store.merge_customers(into, from, actor.stamp(&*self.clock)).await.map_err(|error| match error {
            otklik_store::StoreError::NotFound(_) => AppError::NotFound(format!("no customer `{into}` or `{from}`")),
            otklik_store::StoreError::Conflict(detail) => AppError::Conflict { detail, allowed: Vec::new() },
            other => other.into(),
        })
    }

    /// Adds a way to reach or recognise a customer: `email`, `phone`, `telegram` or `handle`.
    pub async fn add_identity(&self, actor: &Actor, id: i64, kind: &str, value: &str) -> Result<Customer, AppError> {
        actor.require(Right::WorkCases)?;
        let identity = parse_identity(kind, value)?;
        self.store.add_identity(id, &identity, actor.stamp(&*self.clock)).await.map_err(|error| match error {
            otklik_store::StoreError::NotFound(_) => AppError::NotFound(format!("no customer `{id}`")),
            otklik_store::StoreError::Conflict(detail) => AppError::Conflict { detail, allowed: Vec::new() },
            other => other.into(),
        })
    }
}
