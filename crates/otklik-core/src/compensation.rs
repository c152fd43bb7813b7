//! Compensation offered on a complaint and who may grant how much without a manager's approval.
//! Amounts are in minor units (kopecks, cents) of the business's one currency. Pure data, no I/O.

use std::collections::BTreeMap;

use crate::vocab::{CompensationKind, Role};

/// Compensation offered to a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compensation {
    pub kind: CompensationKind,
    /// The value in minor units of [`ApprovalLimits::currency`]; an estimate for goods and gifts.
    pub amount: u64,
    /// What exactly is offered, in words.
    pub description: Option<String>,
}

/// Compensation an action offered, and whether it waits for a manager's approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompensationOffer {
    pub compensation: Compensation,
    pub needs_approval: bool,
    /// Who is asked to approve it: managers, or the admins when it is above the managers' own
    /// listed limit.
    pub approver: Role,
}

/// How much each role may grant on its own, in minor units of one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalLimits {
    /// The business's currency, an ISO 4217 code such as `RUB`.
    pub currency: String,
    /// Per-role limits. Admin is never limited; a manager is unlimited unless listed; any other
    /// role not listed needs approval for any amount above zero.
    pub limits: BTreeMap<Role, u64>,
}

impl ApprovalLimits {
    /// Who approves `amount`: a manager, unless it is above the managers' listed limit.
    pub fn approver(&self, amount: u64) -> Role {
        if self.needs_approval(Role::Manager, amount) { Role::Admin } else { Role::Manager }
    }

    /// The largest amount `role` may grant without approval; `None` when unlimited.
    pub fn limit(&self, role: Role) -> Option<u64> {
        match (role, self.limits.get(&role)) {
            (Role::Admin, _) | (Role::Manager, None) => None,
            (_, Some(&limit)) => Some(limit),
            (_, None) => Some(0),
        }
    }

    /// True when `amount` is above what `role` may grant on its own.
    pub fn needs_approval(&self, role: Role, amount: u64) -> bool {
        self.limit(role).is_some_and(|limit| amount > limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ApprovalLimits {
        ApprovalLimits { currency: "RUB".into(), limits: BTreeMap::from([(Role::Agent, 500_000)]) }
    }

    #[test]
    fn agent_grants_up_to_the_limit_alone() {
        assert!(!limits().needs_approval(Role::Agent, 500_000));
        assert!(limits().needs_approval(Role::Agent, 500_001));
    }

    #[test]
    fn admin_and_unlisted_manager_are_unlimited_other_roles_are_not() {
        assert!(!limits().needs_approval(Role::Admin, u64::MAX));
        assert!(!limits().needs_approval(Role::Manager, u64::MAX));
        assert!(limits().needs_approval(Role::Executor, 1));
        assert!(!limits().needs_approval(Role::Executor, 0));
    }
}
