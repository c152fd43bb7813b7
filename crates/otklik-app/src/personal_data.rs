//! A customer's personal data: everything stored about them, as one export; its erasure (their
//! name, identities and the personal data in everything they wrote or was written to them
//! become a placeholder, while their cases and the figures stay); and retention, which erases
//! it once every case of theirs has been closed for a configured time. Admins only: the right
//! `erase_personal_data`.

use otklik_core::Right;
use otklik_store::{CaseDetail, CustomerDetail, Erased, StoreError};
use time::{Duration, OffsetDateTime};

use crate::error::missing;
use crate::{Actor, App, AppError};

/// Everything stored about a customer: their record, identities and history, and each of their
/// cases with its messages, events and attachments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerExport {
    pub customer: CustomerDetail,
    pub cases: Vec<CaseDetail>,
}

/// How many customers retention erases in one pass.
const FORGET_AT_ONCE: u32 = 100;

impl App {
    /// Everything stored about a customer.
    pub async fn export_customer(&self, actor: &Actor, id: i64) -> Result<CustomerExport, AppError> {
        actor.require(Right::ErasePersonalData)?;
        let customer = self.store.customer(id).await.map_err(missing(|| format!("no customer `{id}`")))?;
        let mut cases = Vec::with_capacity(customer.cases.len());
        for case in &customer.cases {
            cases.push(self.store.case(case.id).await?);
        }
        Ok(CustomerExport { customer, cases })
    }

    /// Erases a customer's personal data; who and when is recorded on the customer and on each
    /// of their cases. Erasing again finds nothing more to erase.
    pub async fn erase_customer(&self, actor: &Actor, id: i64) -> Result<Erased, AppError> {
        actor.require(Right::ErasePersonalData)?;
        self.store.erase_customer(id, actor.stamp(&*self.clock), None).await.map_err(|error| match error {
            StoreError::NotFound(_) => AppError::NotFound(format!("no customer `{id}`")),
            StoreError::Conflict(detail) => AppError::Conflict { detail, allowed: Vec::new() },
            other => other.into(),
        })
    }

    /// Retention: erases the personal data of customers whose every case was resolved or
    /// closed more than `after` ago. Returns how many customers it erased.
    pub async fn forget_closed(&self, now: OffsetDateTime, after: Duration) -> Result<usize, AppError> {
        let system = otklik_store::Stamp { at: now, actor: "retention".into() };
        let mut forgotten = 0;
        loop {
            let due = self.store.customers_to_forget(now - after, FORGET_AT_ONCE).await?;
            if due.is_empty() {
                return Ok(forgotten);
            }
            for id in &due {
                let erased = self.store.erase_customer(*id, system.clone(), Some(now - after)).await?;
                forgotten += usize::from(erased.customers > 0);
            }
            if due.len() < FORGET_AT_ONCE as usize {
                return Ok(forgotten);
            }
        }
    }
}
