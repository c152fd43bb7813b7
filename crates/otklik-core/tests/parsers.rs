//! The parsers that take what strangers type — identities, search queries, cursors, case
//! references — and the files a business writes — playbooks and house rules — on generated
//! input: none of them panics, what they accept survives a round trip, and a broken file is
//! refused with the line of each mistake.

use otklik_core::standard::Rules;
use otklik_core::{CaseRef, Cursor, Identity, Workflow, text};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn identities_never_panic_and_a_parsed_one_parses_to_itself(raw in "\\PC{0,60}") {
        for parse in [Identity::email, Identity::phone, Identity::telegram, Identity::handle] {
            if let Ok(identity) = parse(&raw) {
                let again = parse(&identity.value);
                prop_assert_eq!(again.ok(), Some(identity), "{:?}", raw);
            }
        }
    }

    #[test]
    fn emails_of_any_case_are_one_identity(user in "[a-zA-Z0-9._%+-]{1,20}", host in "[a-zA-Z0-9-]{1,15}\\.[a-zA-Z]{2,6}") {
        let lower = Identity::email(&format!("{user}@{host}").to_lowercase());
        let upper = Identity::email(&format!("{user}@{host}").to_uppercase());
        prop_assert_eq!(lower.ok(), upper.ok());
    }

    #[test]
    fn search_queries_never_panic_and_every_query_word_is_searchable(query in "\\PC{0,200}") {
        let terms = text::query_terms(&query);
        let indexed = text::search_terms(&query);
        for alternatives in &terms {
            prop_assert!(alternatives.iter().any(|term| indexed.contains(term)), "{:?} in {:?}", alternatives, indexed);
        }
    }

    #[test]
    fn cursors_and_references_never_panic_and_round_trip(raw in "\\PC{0,30}") {
        if let Ok(cursor) = raw.parse::<Cursor>() {
            prop_assert_eq!(cursor.to_string().parse::<Cursor>().ok(), Some(cursor));
        }
        if let Ok(reference) = raw.parse::<CaseRef>() {
            prop_assert_eq!(reference.to_string().parse::<CaseRef>().ok(), Some(reference));
        }
    }
}

proptest! {
    // A whole playbook or rules file is parsed, checked and compiled each time: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn a_playbook_file_with_a_line_changed_loads_or_names_the_lines(line in 0usize..600, replacement in "\\PC{0,40}") {
        let mut lines: Vec<&str> = Workflow::builtin_toml().lines().collect();
        let line = line % lines.len();
        lines[line] = &replacement;
        let changed = lines.join("\n");
        if let Err(errors) = Workflow::from_toml(&changed) {
            let text = errors.to_string();
            prop_assert!(!text.is_empty());
            prop_assert!(text.contains("line "), "every mistake names its line: {}", text);
        }
    }

    #[test]
    fn a_house_rules_file_never_panics(source in "\\PC{0,300}") {
        let _ = Rules::builtin_with(&source);
    }

    #[test]
    fn a_house_rules_file_with_a_broken_regular_expression_is_refused(pattern in "[(\\[{]{1,4}[a-z]{0,3}") {
        let source = format!(
            "[[rule]]\nid = \"generated\"\ncheck = \"forbid\"\nseverity = \"warning\"\n\
             explanation.ru = \"x\"\nexplanation.uk = \"x\"\nexplanation.en = \"x\"\nregex.any = [{pattern:?}]\n"
        );
        prop_assert!(Rules::builtin_with(&source).is_err(), "{}", source);
        let valid = source.replace(&format!("{pattern:?}"), "\"valid\"");
        prop_assert!(Rules::builtin_with(&valid).is_ok(), "the same rule with a valid expression loads: {}", valid);
    }
}
