//! How soon a message needs attention, from what triage found in it and what is known about its
//! author: a public complaint is read by many, an opinion leader's by thousands, a VIP's or a
//! repeated one costs a customer the business cared to keep. Pure rules, no learning.

use otklik_core::{Audience, Kind, Priority, Sentiment};

use crate::Input;

/// From this many followers the author is an opinion leader: the case is raised one step.
pub const OPINION_LEADER_FOLLOWERS: u64 = 1_000;
/// From this many followers a message reaches a mass audience: raised one more step.
pub const MASS_AUDIENCE_FOLLOWERS: u64 = 50_000;

const LEVELS: [Priority; 4] = [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent];

/// The priority of a message. Each kind starts at a base level and may be raised, one step per
/// reason, up to a ceiling: praise and ideas are never urgent, and a troll is never raised above
/// normal (answered calmly, not fed).
pub fn priority(kind: Kind, sentiment: Sentiment, audience: Audience, input: &Input<'_>) -> Priority {
    let (base, ceiling) = match kind {
        Kind::Complaint | Kind::Unclassified => (1, 3),
        Kind::Question | Kind::Referral => (1, 2),
        Kind::Idea | Kind::Praise => (0, 2),
    };
    let unhappy = kind == Kind::Complaint || (kind == Kind::Unclassified && sentiment == Sentiment::Negative);
    let followers = input.followers.unwrap_or(0);
    let raises = [
        input.public && unhappy,
        followers >= OPINION_LEADER_FOLLOWERS,
        followers >= MASS_AUDIENCE_FOLLOWERS,
        input.vip,
        input.repeated_complaint && unhappy,
    ];
    let mut level = base + raises.iter().filter(|raised| **raised).count();
    if audience == Audience::Troll {
        level = level.min(1);
    }
    LEVELS[level.min(ceiling)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(public: bool, followers: u64, vip: bool, repeated_complaint: bool) -> Input<'static> {
        Input { text: "", public, followers: Some(followers), vip, repeated_complaint }
    }

    fn complaint(input: &Input<'_>) -> Priority {
        priority(Kind::Complaint, Sentiment::Negative, Audience::Dissatisfied, input)
    }

    #[test]
    fn a_private_complaint_is_normal() {
        assert_eq!(complaint(&input(false, 0, false, false)), Priority::Normal);
    }

    #[test]
    fn an_opinion_leaders_public_complaint_is_raised() {
        let ordinary = complaint(&input(true, 10, false, false));
        let leader = complaint(&input(true, 10_000, false, false));
        assert_eq!(ordinary, Priority::High);
        assert_eq!(leader, Priority::Urgent);
    }

    #[test]
    fn a_vip_is_raised() {
        assert_eq!(complaint(&input(false, 0, true, false)), Priority::High);
        let question = priority(Kind::Question, Sentiment::Neutral, Audience::None, &input(false, 0, true, false));
        assert_eq!(question, Priority::High);
    }

    #[test]
    fn a_repeated_complaint_is_raised() {
        assert_eq!(complaint(&input(false, 0, false, true)), Priority::High);
    }

    #[test]
    fn praise_is_never_urgent() {
        let everything = input(true, 1_000_000, true, true);
        let praise = priority(Kind::Praise, Sentiment::Positive, Audience::Satisfied, &everything);
        assert_eq!(praise, Priority::High);
        let quiet = priority(Kind::Praise, Sentiment::Positive, Audience::None, &input(false, 0, false, false));
        assert_eq!(quiet, Priority::Low);
    }

    #[test]
    fn a_troll_is_not_raised_above_normal() {
        let troll = priority(Kind::Complaint, Sentiment::Negative, Audience::Troll, &input(true, 20_000, false, false));
        assert_eq!(troll, Priority::Normal);
    }

    #[test]
    fn an_unclassified_negative_message_counts_as_a_complaint() {
        let unclassified =
            priority(Kind::Unclassified, Sentiment::Negative, Audience::None, &input(false, 0, false, true));
        assert_eq!(unclassified, Priority::High);
    }
}
