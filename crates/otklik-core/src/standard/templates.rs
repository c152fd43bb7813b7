//! Reply templates that follow the house standard, one per kind, language and (where it matters)
//! public or private reply, with `{placeholders}` the agent or the system fills in.
//! Data only: `standard/templates.toml` built in, or a business's file passed as text.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::RulesError;
use super::rules::line_of;
use crate::{Kind, Language};

/// One reply template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct Template {
    pub kind: Kind,
    pub language: Language,
    /// `Some(true)` for public replies only, `Some(false)` for private ones, `None` for both.
    #[serde(default)]
    pub public: Option<bool>,
    /// The text with `{placeholder}`s, such as `{customer_name}`, `{reference}`, `{due}`.
    pub text: String,
}

impl Template {
    /// The placeholders the text uses, in order of first appearance.
    pub fn placeholders(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for name in placeholder_names(&self.text) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// The text with each `{name}` replaced by its value; unknown placeholders stay as they are.
    pub fn fill(&self, values: &[(&str, &str)]) -> String {
        let mut filled = self.text.clone();
        for (name, value) in values {
            filled = filled.replace(&format!("{{{name}}}"), value);
        }
        filled
    }

    fn fits(&self, kind: Kind, language: Language, public: bool) -> bool {
        self.kind == kind && self.language == language && self.public.is_none_or(|only| only == public)
    }
}

fn placeholder_names(text: &str) -> impl Iterator<Item = &str> {
    text.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

/// The built-in templates (`standard/templates.toml`).
pub fn templates() -> &'static [Template] {
    static TEMPLATES: OnceLock<Vec<Template>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        parse_templates(include_str!("../../standard/templates.toml"))
            .expect("the built-in templates parse: a test checks it")
    })
}

/// The built-in template for a reply, preferring one written for exactly that audience.
pub fn template(kind: Kind, language: Language, public: bool) -> Option<&'static Template> {
    let fitting = || templates().iter().filter(move |t| t.fits(kind, language, public));
    fitting().find(|t| t.public.is_some()).or_else(|| fitting().next())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplatesFile {
    #[serde(default)]
    template: Vec<toml::Spanned<Template>>,
}

/// Parses a templates file; errors name the line. Placeholders must be `{lowercase_name}`.
pub fn parse_templates(source: &str) -> Result<Vec<Template>, RulesError> {
    let file: TemplatesFile = toml::from_str(source).map_err(|error| RulesError {
        line: error.span().map_or(1, |span| line_of(source, span.start)),
        message: error.message().trim().to_owned(),
    })?;
    let mut templates = Vec::with_capacity(file.template.len());
    for spanned in file.template {
        let line = line_of(source, spanned.span().start);
        let template = spanned.into_inner();
        let bad = placeholder_names(&template.text)
            .find(|name| name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        if let Some(name) = bad {
            return Err(RulesError {
                line,
                message: format!("placeholder `{{{name}}}` must be lowercase letters and `_`"),
            });
        }
        if template.text.matches('{').count() != template.text.matches('}').count() {
            return Err(RulesError { line, message: "unbalanced `{` and `}` in the template text".to_owned() });
        }
        templates.push(template);
    }
    Ok(templates)
}
