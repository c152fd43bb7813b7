//! Who may do what: one permission table that every caller (the JSON API, the web pages, the
//! channel drivers) is checked against, in the application layer. A right is a word, so a refusal
//! can say which one was missing.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::vocab::{Role, UnknownWord, vocabulary};

vocabulary! {
    /// Something a role may be allowed to do.
    Right as "right" {
        /// Send in new feedback (forms, integrations, agents logging a call).
        SubmitFeedback = "submit_feedback",
        /// Read cases, customers, the playbooks and one's notifications.
        ReadCases = "read_cases",
        /// Correct cases, reply, write notes, add tasks, check drafts.
        WorkCases = "work_cases",
        /// Set a case's status directly, outside its playbook.
        SetStatus = "set_status",
        /// Change a customer's record (name, VIP).
        ManageCustomers = "manage_customers",
        /// Change the tasks assigned to oneself.
        WorkOwnTasks = "work_own_tasks",
        /// See and change anybody's tasks.
        WorkAnyTask = "work_any_task",
        /// Create people, give them roles, deactivate them, send them password links.
        ManagePeople = "manage_people",
        ManagePlaybooks = "manage_playbooks",
        ManageLocations = "manage_locations",
        /// See the reports (dashboard, exports, the weekly digest's figures).
        ViewReports = "view_reports",
        ErasePersonalData = "erase_personal_data",
    }
}

/// The table: for each right, the roles that hold it.
const TABLE: &[(Right, &[Role])] = &[
    (Right::SubmitFeedback, &[Role::Admin, Role::Manager, Role::Agent, Role::Sales, Role::Intake]),
    (Right::ReadCases, &[Role::Admin, Role::Manager, Role::Agent, Role::Executor, Role::Sales]),
    (Right::WorkCases, &[Role::Admin, Role::Manager, Role::Agent]),
    (Right::SetStatus, &[Role::Admin]),
    (Right::ManageCustomers, &[Role::Admin, Role::Manager]),
    (Right::WorkOwnTasks, &[Role::Admin, Role::Manager, Role::Agent, Role::Executor, Role::Sales]),
    (Right::WorkAnyTask, &[Role::Admin, Role::Manager, Role::Agent]),
    (Right::ManagePeople, &[Role::Admin]),
    (Right::ManagePlaybooks, &[Role::Admin, Role::Manager]),
    (Right::ManageLocations, &[Role::Admin, Role::Manager]),
    (Right::ViewReports, &[Role::Admin, Role::Manager]),
    (Right::ErasePersonalData, &[Role::Admin]),
];

impl Role {
    /// True when the permission table gives this role the right.
    pub fn has(self, right: Right) -> bool {
        TABLE.iter().any(|(listed, roles)| *listed == right && roles.contains(&self))
    }

    /// May submit new feedback.
    pub fn can_submit(self) -> bool {
        self.has(Right::SubmitFeedback)
    }

    /// May read cases and customers.
    pub fn can_read_cases(self) -> bool {
        self.has(Right::ReadCases)
    }

    /// May change cases and write replies and notes.
    pub fn can_work_cases(self) -> bool {
        self.has(Right::WorkCases)
    }

    /// May change a customer's record (name, VIP).
    pub fn can_manage_customers(self) -> bool {
        self.has(Right::ManageCustomers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_right_is_in_the_table_once() {
        for right in Right::ALL {
            assert_eq!(TABLE.iter().filter(|(listed, _)| listed == right).count(), 1, "{right}");
        }
    }

    #[test]
    fn only_the_table_grants_rights() {
        assert!(!Role::Executor.can_submit());
        assert!(Role::Intake.can_submit());
        assert!(!Role::Intake.can_read_cases());
        assert!(Role::Admin.has(Right::SetStatus));
        assert!(!Role::Manager.has(Right::SetStatus));
        assert!(!Role::Sales.has(Right::WorkAnyTask));
    }
}
