//! The log driver: for a channel nobody configured, it records that a message would have been
//! sent (the case, the template, the language, the length — never the customer's words, which do
//! not belong in logs) and reports it `logged`.

use async_trait::async_trait;
use otklik_core::Channel;

use crate::{Outbound, Rendered, Sent};

pub struct LogDriver;

#[async_trait]
impl Outbound for LogDriver {
    fn channels(&self) -> Vec<Channel> {
        Channel::ALL.to_vec()
    }

    async fn deliver(&self, message: &Rendered) -> Result<Sent, String> {
        tracing::info!(
            case = %message.reference,
            channel = %message.channel,
            template = %message.template,
            language = %message.language,
            chars = message.text.chars().count(),
            "no channel configured: message recorded, not sent"
        );
        Ok(Sent::Logged)
    }
}
