//! Customers: one customer with their cases across channels, and the changes a manager makes to
//! a customer's record (name, VIP).

use otklik_core::{Customer, CustomerPatch, Right};
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
            return Err(AppError::Invalid("the patch changes nothing: give `name` or `vip`".into()));
        }
        self.store
            .update_customer(id, patch, actor.stamp(&*self.clock))
            .await
            .map_err(missing(|| format!("no customer `{id}`")))
    }
}
