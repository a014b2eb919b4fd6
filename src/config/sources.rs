//! Where settings come from: built-in defaults < TOML file < environment (DESIGN §5).
//!
//! Every setting has one name: the environment variable, and the same name in lowercase in
//! the TOML file. The table below is the single list of them; `config/example.toml` and
//! `.env.example` document each one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Value};
use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::crypto::SecretString;

/// How an environment variable's text becomes a value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Kept verbatim: a secret like `0012…` must not turn into the number 12.
    Text,
    /// A number or a boolean, parsed.
    Scalar,
    /// Text that may also be read from the file named by `<NAME>_FILE` (Docker secrets).
    Secret,
}

/// Every setting: environment name and kind.
const SETTINGS: &[(&str, Kind)] = &[
    ("BIND_ADDR", Kind::Text),
    ("JWT_ISSUER", Kind::Text),
    ("DATABASE_URL", Kind::Secret),
    ("JWT_EXPIRATION_MINUTES", Kind::Scalar),
    ("AUTH_CODE_TTL_SECONDS", Kind::Scalar),
    ("CLOCK_SKEW_SECONDS", Kind::Scalar),
    ("DEV_MODE", Kind::Scalar),
    ("DEMO_USERNAME", Kind::Text),
    ("DEMO_PASSWORD", Kind::Secret),
    ("ALLOWED_CLIENTS", Kind::Text),
    ("CLIENT_SECRETS", Kind::Secret),
    ("ALLOWED_REDIRECT_URIS", Kind::Text),
    ("SESSION_SECRET", Kind::Secret),
    ("FLASK_SECRET_KEY", Kind::Secret),
    ("JWT_SECRET_KEY", Kind::Secret),
    ("HS256_AUDIENCES", Kind::Text),
    ("LOGGING_BACKEND_URL", Kind::Text),
    ("LOGGING_BACKEND_AUD", Kind::Text),
    ("IDENTITY_SUB", Kind::Text),
    ("LOG_FORMAT", Kind::Text),
    ("KEYS_RELOAD_SECONDS", Kind::Scalar),
    ("BODY_LIMIT_BYTES", Kind::Scalar),
    ("RUST_LOG", Kind::Text),
    ("SESSION_IDLE_MINUTES", Kind::Scalar),
    ("SESSION_MAX_HOURS", Kind::Scalar),
    ("KEY_ENCRYPTION_KEY", Kind::Secret),
    ("REFRESH_TOKEN_DAYS", Kind::Scalar),
    ("REFRESH_REUSE_GRACE_SECONDS", Kind::Scalar),
    ("DATABASE_MAX_CONNECTIONS", Kind::Scalar),
    ("DATABASE_STATEMENT_TIMEOUT_MS", Kind::Scalar),
    ("DATABASE_MAX_LIFETIME_SECONDS", Kind::Scalar),
    ("CLEANUP_INTERVAL_SECONDS", Kind::Scalar),
    ("TRUSTED_PROXIES", Kind::Text),
    ("RATE_LIMIT_LOGIN_PER_MINUTE", Kind::Scalar),
    ("RATE_LIMIT_TOKEN_PER_MINUTE", Kind::Scalar),
    ("RATE_LIMIT_VERIFY_PER_MINUTE", Kind::Scalar),
    ("LOGIN_MAX_FAILURES", Kind::Scalar),
    ("LOGIN_MAX_FAILURES_PER_IP", Kind::Scalar),
    ("LOGIN_LOCK_MINUTES", Kind::Scalar),
    ("KEY_ROTATION_DAYS", Kind::Scalar),
    ("HEADER_READ_TIMEOUT_SECONDS", Kind::Scalar),
    ("METRICS_ADDR", Kind::Text),
    ("ACCESS_TOKEN_ALG", Kind::Text),
    ("BRAND_NAME", Kind::Text),
    ("BRAND_LOGO_FILE", Kind::Text),
    ("BRAND_ACCENT_COLOR", Kind::Text),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", Kind::Text),
    ("OTEL_EXPORTER_OTLP_HEADERS", Kind::Secret),
    ("OTEL_SERVICE_NAME", Kind::Text),
];

/// The name of every setting, as an environment variable.
pub fn names() -> impl Iterator<Item = &'static str> {
    SETTINGS.iter().map(|(name, _)| *name)
}

/// A list given either as a TOML array or as text (comma-separated, or a JSON array).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum ListInput {
    /// `["a", "b"]` in TOML.
    List(Vec<String>),
    /// `a,b` or `["a","b"]` in the environment.
    Text(String),
}

/// The settings as read, before they are checked; field names are the lowercase variables.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    pub bind_addr: String,
    pub jwt_issuer: Option<String>,
    #[serde(skip_serializing)]
    pub database_url: Option<SecretString>,
    pub jwt_expiration_minutes: u64,
    pub auth_code_ttl_seconds: u64,
    pub clock_skew_seconds: u64,
    pub dev_mode: bool,
    pub demo_username: Option<String>,
    #[serde(skip_serializing)]
    pub demo_password: Option<SecretString>,
    pub allowed_clients: Option<ListInput>,
    /// A JSON object `{"client": "secret"}` in the environment, or a TOML table.
    #[serde(skip_serializing)]
    pub client_secrets: Option<SecretMap>,
    /// A list for every client, or a JSON object `{"client": ["uri", …]}`.
    pub allowed_redirect_uris: Option<serde_json::Value>,
    #[serde(skip_serializing)]
    pub session_secret: Option<SecretString>,
    #[serde(skip_serializing)]
    pub flask_secret_key: Option<SecretString>,
    #[serde(skip_serializing)]
    pub jwt_secret_key: Option<SecretString>,
    pub hs256_audiences: Option<ListInput>,
    pub logging_backend_url: Option<String>,
    pub logging_backend_aud: Option<String>,
    pub identity_sub: Option<String>,
    pub log_format: Option<String>,
    pub keys_reload_seconds: u64,
    pub body_limit_bytes: u64,
    pub rust_log: Option<String>,
    pub session_idle_minutes: u64,
    pub session_max_hours: u64,
    #[serde(skip_serializing)]
    pub key_encryption_key: Option<SecretString>,
    pub refresh_token_days: u64,
    pub refresh_reuse_grace_seconds: u64,
    pub database_max_connections: u64,
    pub database_statement_timeout_ms: u64,
    pub database_max_lifetime_seconds: u64,
    pub cleanup_interval_seconds: u64,
    pub trusted_proxies: Option<ListInput>,
    pub rate_limit_login_per_minute: u64,
    pub rate_limit_token_per_minute: u64,
    pub rate_limit_verify_per_minute: u64,
    pub login_max_failures: u64,
    pub login_max_failures_per_ip: u64,
    pub login_lock_minutes: u64,
    pub key_rotation_days: u64,
    pub header_read_timeout_seconds: u64,
    pub metrics_addr: Option<String>,
    pub access_token_alg: Option<String>,
    pub brand_name: Option<String>,
    pub brand_logo_file: Option<String>,
    pub brand_accent_color: Option<String>,
    pub otel_exporter_otlp_endpoint: Option<String>,
    #[serde(skip_serializing)]
    pub otel_exporter_otlp_headers: Option<SecretString>,
    pub otel_service_name: Option<String>,
}

impl Default for RawSettings {
    fn default() -> Self {
        Self {
            bind_addr: "127.0.0.1:5002".into(),
            jwt_issuer: None,
            database_url: None,
            jwt_expiration_minutes: 15,
            auth_code_ttl_seconds: 60,
            clock_skew_seconds: 30,
            dev_mode: false,
            demo_username: None,
            demo_password: None,
            allowed_clients: None,
            client_secrets: None,
            allowed_redirect_uris: None,
            session_secret: None,
            flask_secret_key: None,
            jwt_secret_key: None,
            hs256_audiences: None,
            logging_backend_url: None,
            logging_backend_aud: None,
            identity_sub: None,
            log_format: None,
            keys_reload_seconds: 30,
            body_limit_bytes: 64 * 1024,
            rust_log: None,
            session_idle_minutes: 8 * 60,
            session_max_hours: 24,
            key_encryption_key: None,
            refresh_token_days: 30,
            refresh_reuse_grace_seconds: 10,
            database_max_connections: 16,
            database_statement_timeout_ms: 10_000,
            database_max_lifetime_seconds: 30 * 60,
            cleanup_interval_seconds: 5 * 60,
            trusted_proxies: None,
            rate_limit_login_per_minute: 30,
            rate_limit_token_per_minute: 600,
            rate_limit_verify_per_minute: 0,
            login_max_failures: 5,
            login_max_failures_per_ip: 50,
            login_lock_minutes: 5,
            key_rotation_days: 30,
            header_read_timeout_seconds: 10,
            metrics_addr: None,
            access_token_alg: None,
            brand_name: None,
            brand_logo_file: None,
            brand_accent_color: None,
            otel_exporter_otlp_endpoint: None,
            otel_exporter_otlp_headers: None,
            otel_service_name: None,
        }
    }
}

/// Client secrets by client id, from a TOML table or a JSON object in the environment.
#[derive(Debug, Default)]
pub struct SecretMap(pub Vec<(String, SecretString)>);

impl<'de> Deserialize<'de> for SecretMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Input {
            Table(HashMap<String, String>),
            Json(String),
        }
        let map = match Input::deserialize(d)? {
            Input::Table(map) => map,
            Input::Json(text) => {
                serde_json::from_str::<HashMap<String, String>>(&text).map_err(|_| {
                    serde::de::Error::custom(
                        "expected a JSON object such as {\"client-id\": \"secret\"}",
                    )
                })?
            }
        };
        let mut pairs: Vec<_> = map
            .into_iter()
            .map(|(k, v)| (k, SecretString::new(v)))
            .collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Self(pairs))
    }
}

/// Prefixes of our settings: a variable with one of them that is not a setting is probably a
/// typo (`JWT_EXPIRATION_MINUTE`) that would otherwise be silently ignored.
const OUR_PREFIXES: &[&str] = &[
    "JWT_",
    "IDENTITY_",
    "DEMO_",
    "CLIENT_",
    "ALLOWED_",
    "SESSION_",
    "LOGGING_BACKEND_",
    "HS256_",
    "KEYS_",
    "AUTH_CODE_",
    "CLOCK_SKEW",
    "BIND_",
    "DATABASE_",
    "BODY_LIMIT",
    "ACCESS_TOKEN_",
    "BRAND_",
    "OTEL_EXPORTER_OTLP_",
];

/// Variables in `env` that look like settings but are none, sorted.
pub fn unknown_variables(env: &HashMap<String, String>) -> Vec<String> {
    let known = |name: &str| {
        name == "IDENTITY_CONFIG"
            || SETTINGS.iter().any(|(setting, kind)| {
                name == *setting
                    || (*kind == Kind::Secret && name.strip_suffix("_FILE") == Some(setting))
            })
    };
    let mut unknown: Vec<String> = env
        .keys()
        .filter(|name| OUR_PREFIXES.iter().any(|p| name.starts_with(p)) && !known(name))
        .cloned()
        .collect();
    unknown.sort();
    unknown
}

/// Reads the settings from the TOML file (`IDENTITY_CONFIG`, else `config/identity.toml` when
/// present) and `env`, which the caller fills from the process environment and `.env`.
pub fn read(env: &HashMap<String, String>) -> Result<RawSettings, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(RawSettings::default()));
    match env.get("IDENTITY_CONFIG") {
        Some(path) => {
            let path = PathBuf::from(path);
            if !path.is_file() {
                return Err(ConfigError::new(
                    "IDENTITY_CONFIG",
                    format!("{} is not a readable file", path.display()),
                ));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        None if Path::new("config/identity.toml").is_file() => {
            figment = figment.merge(Toml::file_exact("config/identity.toml"));
        }
        None => {}
    }
    figment
        .merge(Serialized::defaults(env_values(env)?))
        .extract()
        .map_err(from_figment)
}

/// The environment's settings as figment values, typed by [`SETTINGS`].
fn env_values(env: &HashMap<String, String>) -> Result<Dict, ConfigError> {
    let mut dict = Dict::new();
    for &(name, kind) in SETTINGS {
        let file_var = format!("{name}_FILE");
        let value = match (env.get(name), env.get(&file_var), kind) {
            (Some(_), Some(_), Kind::Secret) => {
                return Err(ConfigError::new(
                    name,
                    format!("set {name} or {file_var}, not both"),
                ));
            }
            (None, Some(path), Kind::Secret) => Some(
                std::fs::read_to_string(path)
                    .map(|s| s.trim_end_matches(['\r', '\n']).to_owned())
                    .map_err(|e| ConfigError::new(&file_var, format!("cannot read {path}: {e}")))?,
            ),
            (value, _, _) => value.cloned(),
        };
        // An empty variable means "not set", as in the Flask version's `os.getenv(...) or default`.
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            continue;
        };
        let parsed = match kind {
            Kind::Scalar => value
                .parse::<Value>()
                .unwrap_or_else(|_| Value::from(value)),
            Kind::Text | Kind::Secret => Value::from(value),
        };
        dict.insert(name.to_ascii_lowercase(), parsed);
    }
    Ok(dict)
}

/// Names the variable in figment's error, and never echoes a value (it may be a secret).
fn from_figment(error: figment::Error) -> ConfigError {
    use figment::error::Kind as K;
    let key = error
        .path
        .first()
        .map(|k| k.to_ascii_uppercase())
        .unwrap_or_else(|| "configuration".into());
    let message = match &error.kind {
        K::UnknownField(field, _) => {
            return ConfigError::new(
                &field.to_ascii_uppercase(),
                "unknown setting (see config/example.toml)",
            );
        }
        K::InvalidType(_, expected) => format!("invalid value, expected {expected}"),
        K::InvalidValue(_, expected) => format!("invalid value, expected {expected}"),
        K::Message(m) => m.clone(),
        other => other.to_string(),
    };
    ConfigError::new(&key, message)
}

/// Parses a list setting: a TOML array, a JSON array, or comma-separated text.
pub fn list(input: Option<&ListInput>, key: &str) -> Result<Vec<String>, ConfigError> {
    let items = match input {
        None => return Ok(Vec::new()),
        Some(ListInput::List(items)) => items.clone(),
        Some(ListInput::Text(text)) if text.trim_start().starts_with('[') => {
            serde_json::from_str(text).map_err(|_| {
                ConfigError::new(
                    key,
                    "expected a JSON array of strings or a comma-separated list",
                )
            })?
        }
        Some(ListInput::Text(text)) => text.split(',').map(str::to_owned).collect(),
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect())
}
