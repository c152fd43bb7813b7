//! A message as an inbound channel receives it, in one shape for every channel: e-mail, Telegram,
//! SMS, social networks and review sites hand intake the same `Incoming`, and intake decides
//! whether it opens a case, continues one, or was seen already.

use crate::customer::NewCustomer;
use crate::vocab::Channel;

/// A normalised incoming message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub channel: Channel,
    /// The message's own id at the source (an e-mail's `Message-ID`, a Telegram update's message
    /// id): the same id from the same source again is a redelivery and writes nothing.
    pub external_id: Option<String>,
    /// The conversation the message belongs to at the source (an e-mail thread, a Telegram
    /// chat, the comments under a review): a message in the thread of an open case continues
    /// that case instead of opening another.
    pub thread: Option<String>,
    /// Other keys of the same conversation to look the case up by (an e-mail's `References`
    /// and `In-Reply-To`), newest last.
    pub related: Vec<String>,
    /// Case references the message names (in its subject, or in one of our own `Message-ID`s it
    /// answers): it continues that case only when its author is that case's customer.
    pub claims: Vec<String>,
    /// Sent by a robot (an auto-reply, a bounce): it may be added to the case it answers, but
    /// never opens one and is never answered.
    pub automatic: bool,
    /// Who wrote, as the channel knows them: identities (e-mail address, phone, Telegram
    /// handle), name, followers, language.
    pub customer: NewCustomer,
    /// The channel itself proves the identities (a chat's verified account, a signed webhook
    /// from the provider), so they may join a customer already known by another identity.
    pub vouched: bool,
    pub subject: Option<String>,
    pub text: String,
    pub attachments: Vec<Attachment>,
    /// Said in public (a comment under a post, a review).
    pub public: bool,
}

/// A file that came with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub content: Vec<u8>,
}
