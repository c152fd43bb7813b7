//! NPS campaigns: "how likely are you to recommend us?" sent to a chosen list of customers by
//! e-mail, SMS or Telegram, each message through the outbox; an answer (a lone number 0–10 in
//! reply, or a Telegram button) is tied to the customer's request and counted: promoters (9–10),
//! passives (7–8), detractors (0–6). Managers run them.

use otklik_core::{Channel, Identity, Right};
use otklik_store::{NpsCampaign, StoreError};
use time::Duration;

use crate::{Actor, App, AppError, customer_address, input};

/// The most customers one campaign asks.
pub const MAX_CAMPAIGN_CUSTOMERS: usize = 10_000;
/// How long an NPS request waits for its answer: a lone number sent later is a new message.
pub const ANSWER_WITHIN: Duration = Duration::days(30);

/// A campaign to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCampaign {
    pub name: String,
    /// `email`, `sms` or `telegram`.
    pub channel: Channel,
    pub customers: Vec<i64>,
}

/// A started campaign, and the customers it could not ask: unknown, or with no address on its
/// channel (a Telegram username is no chat to write to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignStarted {
    pub campaign: NpsCampaign,
    pub skipped: Vec<i64>,
}

/// A message that is only a score from 0 to 10 ("9", " 10 ", "10!").
pub(crate) fn lone_recommendation(text: &str) -> Option<u8> {
    let trimmed = text.trim().trim_end_matches(['!', '.', ')']);
    let score: u8 = trimmed.parse().ok()?;
    (score <= 10 && trimmed.len() <= 2 && trimmed.chars().all(|c| c.is_ascii_digit())).then_some(score)
}

impl App {
    /// Starts an NPS campaign: each listed customer who has an address on `channel` is asked
    /// once; the others are named in `skipped`.
    pub async fn start_nps_campaign(&self, actor: &Actor, new: NewCampaign) -> Result<CampaignStarted, AppError> {
        actor.require(Right::ManageCustomers)?;
        let name = input::line("name", Some(new.name))?
            .ok_or_else(|| AppError::Invalid("name: the campaign needs a name".into()))?;
        if !matches!(new.channel, Channel::Email | Channel::Sms | Channel::Telegram) {
            return Err(AppError::Invalid(format!(
                "channel: `{}` cannot carry a survey; use email, sms or telegram",
                new.channel
            )));
        }
        if new.customers.is_empty() {
            return Err(AppError::Invalid("customers: name at least one customer".into()));
        }
        if new.customers.len() > MAX_CAMPAIGN_CUSTOMERS {
            return Err(AppError::Invalid(format!("customers: at most {MAX_CAMPAIGN_CUSTOMERS} in one campaign")));
        }
        let mut asked = Vec::with_capacity(new.customers.len());
        let mut skipped = Vec::new();
        for id in new.customers {
            // A merged customer's id finds the customer they were merged into.
            match self.store.customer(id).await {
                Ok(detail) if customer_address(&detail.customer, new.channel).is_some() => {
                    if !asked.contains(&detail.customer.id) {
                        asked.push(detail.customer.id);
                    }
                }
                Ok(_) | Err(StoreError::NotFound(_)) => skipped.push(id),
                Err(other) => return Err(other.into()),
            }
        }
        if asked.is_empty() {
            return Err(AppError::Invalid(format!(
                "customers: none of them can be written to by {}; nothing was sent",
                new.channel
            )));
        }
        let campaign = self.store.create_nps_campaign(&name, new.channel, &asked, actor.stamp(&*self.clock)).await?;
        self.wake_outbox();
        Ok(CampaignStarted { campaign, skipped })
    }

    /// Every campaign, newest first, with its tallies.
    pub async fn nps_campaigns(&self, actor: &Actor) -> Result<Vec<NpsCampaign>, AppError> {
        actor.require(Right::ManageCustomers)?;
        Ok(self.store.nps_campaigns().await?)
    }

    pub async fn nps_campaign(&self, actor: &Actor, id: i64) -> Result<NpsCampaign, AppError> {
        actor.require(Right::ManageCustomers)?;
        self.store.nps_campaign(id).await.map_err(|error| match error {
            StoreError::NotFound(_) => AppError::NotFound(format!("no NPS campaign `{id}`")),
            other => other.into(),
        })
    }

    /// A customer answers an NPS request on a channel (a Telegram button): `identity` must be
    /// the asked customer's, so nobody answers for a stranger.
    pub async fn channel_recommend(
        &self,
        actor: &Actor,
        request_id: i64,
        identity: &Identity,
        score: u8,
    ) -> Result<(), AppError> {
        actor.require(Right::SubmitFeedback)?;
        if score > 10 {
            return Err(AppError::Invalid("score: 0 to 10".into()));
        }
        let request = self.store.nps_request(request_id).await.map_err(|error| match error {
            StoreError::NotFound(_) => AppError::NotFound("NPS request".into()),
            other => other.into(),
        })?;
        let customer = self.store.customer(request.customer_id).await?.customer;
        if !customer.identities.contains(identity) {
            return Err(AppError::NotFound("NPS request".into()));
        }
        self.record_recommendation(request_id, score).await
    }

    pub(crate) async fn record_recommendation(&self, request_id: i64, score: u8) -> Result<(), AppError> {
        if self.store.answer_nps(request_id, score, None, self.clock.now()).await? {
            Ok(())
        } else {
            Err(AppError::Conflict { detail: "the survey is answered already".into(), allowed: Vec::new() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_lone_number_from_0_to_10_is_an_answer() {
        for (text, score) in [("0", 0), ("9", 9), (" 10 ", 10), ("10!", 10), ("7.", 7)] {
            assert_eq!(lone_recommendation(text), Some(score), "{text}");
        }
        for text in ["11", "-1", "9/10", "100", "09 или 10", "", "+5", "ten"] {
            assert_eq!(lone_recommendation(text), None, "{text}");
        }
    }
}
