//! The shapes every caller's free text must have, checked the same way whoever hands it in: one
//! line fields (names, subjects, locations), message texts and the employees named on a case.
//! Each error names the field.

use otklik_core::case::MAX_TEXT_CHARS;

use crate::AppError;

/// The longest one-line field (subject, location, product, name, external id), in characters.
pub const MAX_LINE_CHARS: usize = 500;

/// A one-line field, trimmed; blank becomes absent; too long (counted as sent, like the
/// OpenAPI document's `maxLength`) or with control characters is an error naming the field.
pub fn line(field: &str, value: Option<String>) -> Result<Option<String>, AppError> {
    let Some(value) = value else { return Ok(None) };
    if value.chars().count() > MAX_LINE_CHARS {
        return Err(AppError::Invalid(format!("{field}: longer than {MAX_LINE_CHARS} characters")));
    }
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().any(char::is_control) {
        return Err(AppError::Invalid(format!("{field}: must be one line without control characters")));
    }
    Ok(Some(trimmed.to_owned()))
}

/// An e-mail address, trimmed and lowercased as a customer's is; blank becomes absent.
pub fn email(field: &str, value: Option<String>) -> Result<Option<String>, AppError> {
    let Some(value) = line(field, value)? else { return Ok(None) };
    otklik_core::Identity::email(&value)
        .map(|identity| Some(identity.value))
        .map_err(|error| AppError::Invalid(format!("{field}: {}", error.reason)))
}

/// A message text: not blank, at most `MAX_TEXT_CHARS` characters as sent, no control characters but line breaks
/// and tabs (a NUL or an escape is never typed by a person, and one backend cannot store a NUL).
pub fn text(field: &str, value: &str) -> Result<String, AppError> {
    if value.chars().count() > MAX_TEXT_CHARS {
        return Err(AppError::Invalid(format!("{field}: longer than {MAX_TEXT_CHARS} characters")));
    }
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(AppError::Invalid(format!("{field}: must not be empty")));
    }
    if trimmed.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(AppError::Invalid(format!(
            "{field}: must not contain control characters other than line breaks and tabs"
        )));
    }
    Ok(trimmed.to_owned())
}

/// An optional text field, trimmed; blank becomes absent; otherwise as [`text`].
pub fn optional_text(field: &str, value: Option<String>) -> Result<Option<String>, AppError> {
    match value {
        Some(value) if !value.trim().is_empty() => text(field, &value).map(Some),
        _ => Ok(None),
    }
}

/// The most employees one case names.
pub const MAX_EMPLOYEES: usize = 20;

/// The employees a case concerns, as given: each a name of 1 to 100 characters without commas
/// or control characters, trimmed; sorted, each once.
pub fn employees(names: Vec<String>) -> Result<Vec<String>, AppError> {
    if names.len() > MAX_EMPLOYEES {
        return Err(AppError::Invalid(format!("employees: at most {MAX_EMPLOYEES}")));
    }
    let mut kept = Vec::with_capacity(names.len());
    for name in names {
        let name = line("employees", Some(name))?
            .ok_or_else(|| AppError::Invalid("employees: a name must not be blank".into()))?;
        if name.chars().count() > 100 || name.contains(',') {
            return Err(AppError::Invalid(format!(
                "employees: `{name}` must be at most 100 characters, without commas"
            )));
        }
        kept.push(name);
    }
    kept.sort();
    kept.dedup();
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_keep_line_breaks_and_refuse_other_control_characters() {
        assert_eq!(text("body", " two\nlines\t ").unwrap(), "two\nlines");
        let error = text("body", "a\0b").unwrap_err().to_string();
        assert!(error.starts_with("body: "), "{error}");
        assert!(text("body", "  ").is_err());
    }

    #[test]
    fn lines_are_one_line_and_blank_is_absent() {
        assert_eq!(line("subject", Some("  ".into())).unwrap(), None);
        assert!(line("subject", Some("a\nb".into())).unwrap_err().to_string().starts_with("subject: "));
        assert!(line("subject", Some("x".repeat(MAX_LINE_CHARS + 1))).is_err());
    }
}
