//! The server's configuration: defaults < TOML file < `OTKLIK_*` environment < flags. The command
//! line merges the last two (clap reads the environment); this module owns the defaults, the file
//! and the checks, and is loaded once at start-up and passed down.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use otklik_core::Workflow;
use otklik_core::standard::Rules;
use otklik_store::{OpenOptions, SqliteSync};
use serde::Deserialize;

use std::sync::Arc;

use otklik_channels::Registry;
use otklik_channels::email::Email;
use otklik_channels::log::LogDriver;
use otklik_channels::sms::Sms;
use otklik_channels::social::Social;
use otklik_channels::telegram::Telegram;

use crate::limits::Limits;

/// The secrets inbound webhooks are signed with; a hook whose secret is not set answers 404.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HookSecrets {
    pub sms: Option<String>,
    pub social: Option<String>,
    pub meta: Option<String>,
    pub meta_verify: Option<String>,
}

/// Everything `otklik serve` needs to know.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory for the SQLite database and other local state.
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL; when unset, SQLite at `<data_dir>/otklik.db`.
    pub database_url: Option<String>,
    /// The address customers and agents reach the server at (links in messages are built from
    /// it); defaults to `http://<listen>`.
    pub public_url: Option<String>,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// SQLite durability: `normal` (survives a killed process) or `full` (also power loss).
    pub sqlite_synchronous: SqliteSync,
    /// Database connections to keep open.
    pub max_connections: u32,
    /// A TOML file of the business's own house-standard rules, added to the built-in ones.
    pub house_rules_file: Option<PathBuf>,
    /// A triage model from `otklik model train`; the shipped model while it does not exist. The
    /// server reloads it when the file changes. Default: `<data_dir>/triage-model.otkm`.
    pub model_file: Option<PathBuf>,
    /// A TOML file of the business's playbooks, business hours, deadlines and approval limits;
    /// the built-in ones (`otklik playbooks show`) when absent.
    pub playbooks_file: Option<PathBuf>,
    /// Seconds a client has to send a request's headers; a half-sent or idle connection is
    /// closed after it.
    pub header_read_timeout_secs: u64,
    /// Seconds a request may take, its body included; a slower one is answered 408.
    pub request_timeout_secs: u64,
    /// Client connections open at once; more wait to be accepted.
    pub max_client_connections: usize,
    /// Requests without a token one address may make per minute (health probes aside).
    pub anonymous_rate_limit: u32,
    /// Days a customer's status link keeps working after their case was resolved.
    pub status_link_days: u32,
    /// The business's name as customers know it (on the locations' posters).
    pub business_name: Option<String>,
    /// How many silent dissatisfied customers one complaint stands for, in the reports'
    /// iceberg (one in 27 speaks up).
    pub iceberg_factor: u32,
    /// Retention: days after which a customer whose every case is resolved or closed has their
    /// personal data erased; never when unset (docs/operations.md).
    pub retention_days: Option<u32>,
    /// Seconds a node's claim on outbox messages lasts before another node may send them (a
    /// node that stopped leaves its claimed messages this long).
    pub outbox_lease_seconds: u64,
    /// E-mail: collected over IMAP, answered over SMTP (docs/channels.md).
    pub email: Option<otklik_channels::email::Settings>,
    /// Telegram: a bot's long polling and answers.
    pub telegram: Option<otklik_channels::telegram::Settings>,
    /// SMS: inbound at `/hooks/sms`, outbound through the provider's HTTP API.
    pub sms: Option<otklik_channels::sms::Settings>,
    /// Social networks and review sites: `/hooks/social`, `/hooks/social/meta`.
    pub social: Option<otklik_channels::social::Settings>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("otklik-data"),
            database_url: None,
            public_url: None,
            max_body_bytes: 1024 * 1024,
            sqlite_synchronous: SqliteSync::Full,
            max_connections: 8,
            house_rules_file: None,
            model_file: None,
            playbooks_file: None,
            header_read_timeout_secs: 10,
            request_timeout_secs: 30,
            max_client_connections: 512,
            anonymous_rate_limit: 300,
            status_link_days: 90,
            business_name: None,
            iceberg_factor: otklik_core::report::ICEBERG_FACTOR,
            retention_days: None,
            outbox_lease_seconds: 60,
            email: None,
            telegram: None,
            sms: None,
            social: None,
        }
    }
}

/// A configuration that cannot be used, with the setting named.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{setting}: {message}")]
    Invalid { setting: &'static str, message: String },
    /// A channel's section, with the setting named in the message (`email.from: …`).
    #[error("{0}")]
    Channel(String),
}

impl Config {
    /// Reads a TOML file over the defaults; unknown keys are refused.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.to_owned(), message: e.to_string() })
    }

    /// Checks the settings that can be wrong in ways the types do not catch.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_body_bytes < 1024 {
            return Err(ConfigError::Invalid { setting: "max_body_bytes", message: "must be at least 1024".into() });
        }
        if let Some(url) = &self.database_url {
            let known = ["sqlite:", "postgres://", "postgresql://"];
            if !known.iter().any(|prefix| url.starts_with(prefix)) {
                return Err(ConfigError::Invalid {
                    setting: "database_url",
                    message: "must start with sqlite:, postgres:// or postgresql://".into(),
                });
            }
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError::Invalid {
                setting: "public_url",
                message: "must start with http:// or https://".into(),
            });
        }
        let at_least_one: [(&'static str, u64); 7] = [
            ("iceberg_factor", u64::from(self.iceberg_factor)),
            ("outbox_lease_seconds", self.outbox_lease_seconds),
            ("status_link_days", u64::from(self.status_link_days)),
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("request_timeout_secs", self.request_timeout_secs),
            ("max_client_connections", self.max_client_connections as u64),
            ("anonymous_rate_limit", u64::from(self.anonymous_rate_limit)),
        ];
        if self.retention_days == Some(0) {
            return Err(ConfigError::Invalid { setting: "retention_days", message: "must be at least 1".into() });
        }
        if let Some((setting, _)) = at_least_one.iter().find(|(_, value)| *value == 0) {
            return Err(ConfigError::Invalid { setting, message: "must be at least 1".into() });
        }
        if self.max_connections == 0 {
            return Err(ConfigError::Invalid { setting: "max_connections", message: "must be at least 1".into() });
        }
        Ok(())
    }

    /// The channel drivers the configuration describes; every channel without one is logged.
    pub fn channels(&self) -> Result<Registry, ConfigError> {
        let mut registry = Registry::default();
        if let Some(settings) = &self.email {
            let email = Arc::new(Email::new(settings).map_err(|error| ConfigError::Channel(error.to_string()))?);
            if email.sends() {
                registry = registry.with(email.clone());
            }
            if email.collects() {
                registry = registry.with_inbound(email);
            }
        }
        if let Some(settings) = &self.telegram {
            let telegram = Arc::new(Telegram::new(settings).map_err(ConfigError::Channel)?);
            registry = registry.with(telegram.clone()).with_inbound(telegram);
        }
        if let Some(settings) = &self.sms {
            if settings.webhook_secret.as_deref().is_some_and(|secret| secret.len() < 16) {
                return Err(ConfigError::Invalid {
                    setting: "sms.webhook_secret",
                    message: "must have at least 16 characters".into(),
                });
            }
            if settings.send_url.is_some() {
                let sms = Sms::new(settings).map_err(ConfigError::Channel)?;
                registry = registry.with(Arc::new(sms));
            }
        }
        if let Some(settings) = &self.social {
            for (setting, secret) in [
                ("social.webhook_secret", &settings.webhook_secret),
                ("social.meta_app_secret", &settings.meta_app_secret),
            ] {
                if secret.as_deref().is_some_and(|secret| secret.len() < 16) {
                    return Err(ConfigError::Invalid { setting, message: "must have at least 16 characters".into() });
                }
            }
            let social = Social::new(settings).map_err(ConfigError::Channel)?;
            registry = registry.with(Arc::new(social));
        }
        Ok(registry.with_fallback(Arc::new(LogDriver)))
    }

    /// The secrets the inbound webhooks are checked with.
    pub fn hook_secrets(&self) -> HookSecrets {
        HookSecrets {
            sms: self.sms.as_ref().and_then(|sms| sms.webhook_secret.clone()),
            social: self.social.as_ref().and_then(|social| social.webhook_secret.clone()),
            meta: self.social.as_ref().and_then(|social| social.meta_app_secret.clone()),
            meta_verify: self.social.as_ref().and_then(|social| social.meta_verify_token.clone()),
        }
    }

    /// The house-standard rules: the built-in ones plus the business's file, if any.
    pub fn house_rules(&self) -> Result<Rules, ConfigError> {
        let Some(path) = &self.house_rules_file else { return Ok(Rules::builtin()) };
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Rules::builtin_with(&text).map_err(|e| ConfigError::Parse { path: path.to_owned(), message: e.to_string() })
    }

    /// The playbooks, deadlines and approval limits: the business's file, or the built-in ones.
    /// A file with mistakes is refused with one line per mistake, each naming its line.
    pub fn workflow(&self) -> Result<Workflow, ConfigError> {
        let Some(path) = &self.playbooks_file else { return Ok(Workflow::builtin()) };
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Workflow::from_toml(&text)
            .map_err(|errors| ConfigError::Parse { path: path.to_owned(), message: format!("\n{errors}") })
    }

    /// The triage model file the server watches.
    pub fn model_file(&self) -> PathBuf {
        self.model_file.clone().unwrap_or_else(|| self.data_dir.join("triage-model.otkm"))
    }

    /// The database URL in effect: the configured one, or SQLite under the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("otklik.db").display()),
        }
    }

    /// How long closed cases keep their customer's personal data (`retention_days`).
    pub fn retention(&self) -> Option<time::Duration> {
        self.retention_days.map(|days| time::Duration::days(i64::from(days)))
    }

    /// How the store should open its database.
    pub fn open_options(&self) -> OpenOptions {
        OpenOptions {
            sqlite_synchronous: self.sqlite_synchronous,
            max_connections: self.max_connections,
            postgres_schema: None,
        }
    }

    /// The connection and request limits.
    pub fn limits(&self) -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            max_client_connections: self.max_client_connections,
            anonymous_requests_per_minute: self.anonymous_rate_limit,
        }
    }

    /// The public base URL, given the address the server actually bound.
    pub fn public_url_for(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{bound}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_overrides_defaults_and_refuses_unknown_keys() {
        let config: Config = toml::from_str("listen = \"0.0.0.0:9000\"\nsqlite_synchronous = \"full\"").unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.sqlite_synchronous, SqliteSync::Full);
        assert_eq!(config.max_body_bytes, 1024 * 1024);
        let error = toml::from_str::<Config>("lisen = \"0.0.0.0:9000\"").unwrap_err();
        assert!(error.to_string().contains("lisen"), "{error}");
    }

    #[test]
    fn validation_names_the_setting() {
        let config = Config { database_url: Some("mysql://x".into()), ..Config::default() };
        assert!(config.validate().unwrap_err().to_string().starts_with("database_url"));
        let config = Config { public_url: Some("example.com".into()), ..Config::default() };
        assert!(config.validate().unwrap_err().to_string().starts_with("public_url"));
    }

    #[tokio::test]
    async fn a_channel_setting_that_cannot_be_used_is_named() {
        let config: Config = toml::from_str("[email]\nsmtp_url = \"smtp://127.0.0.1:25\"\n").unwrap();
        assert_eq!(
            config.channels().err().unwrap().to_string(),
            "email.from: is needed to send mail: the brand's name and address"
        );
        let config: Config = toml::from_str("[telegram]\napi_base = \"https://x.example\"\n").unwrap();
        assert!(config.channels().err().unwrap().to_string().starts_with("telegram.bot_token"));
        let config: Config = toml::from_str("[sms]\nwebhook_secret = \"short\"\n").unwrap();
        assert!(config.channels().err().unwrap().to_string().starts_with("sms.webhook_secret"));
        let error = toml::from_str::<Config>("[email]\nimap = \"x\"\n").unwrap_err();
        assert!(error.to_string().contains("imap"), "{error}");
    }

    #[test]
    fn sqlite_lives_under_the_data_dir_by_default() {
        let config = Config { data_dir: PathBuf::from("/var/lib/otklik"), ..Config::default() };
        assert_eq!(config.database_url(), "sqlite:///var/lib/otklik/otklik.db");
    }
}
