//! Typed, validated configuration.
//!
//! [`Config::load`] reads the sources (see [`sources`]), then checks every value and, in
//! production, refuses insecure settings with one line naming the variable.

mod sources;

pub use sources::names as setting_names;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;

use crate::crypto::SecretString;
use crate::crypto::secret::weakness;
use crate::oidc::{ClientId, Issuer, RedirectUri, RedirectUriPolicy, Username};

/// Production refuses shorter session and shared secrets: 32 bytes is 256 bits, the HS256
/// key size RFC 7518 §3.2 requires.
const MIN_SECRET_LEN: usize = 32;

/// The client the platform's gateway uses by default; registered by `start-dev` unless
/// `ALLOWED_CLIENTS` says otherwise.
pub const DEV_CLIENT_ID: &str = "browser-ui";
/// The dev client's secret, as the gateway's own defaults expect it.
pub const DEV_CLIENT_SECRET: &str = "dev-client-secret";
/// The dev client's redirect URI.
pub const DEV_REDIRECT_URI: &str = "http://localhost:5000/callback";
/// The demo user's name when `DEMO_USERNAME` is not set.
pub const DEV_DEMO_USERNAME: &str = "demo";

/// Production, or dev mode with its conveniences.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `start`: https issuer, strong secrets, no `/test-token`.
    Production,
    /// `start-dev` (or `DEV_MODE=true`): http issuer, placeholder secrets, `/test-token`.
    Development,
}

/// Which checks a load applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Enforce {
    /// Serving: every production rule.
    SecurityChecks,
    /// Administrative commands: what storage needs.
    StorageOnly,
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable (dev default).
    Pretty,
    /// JSON lines (production default).
    Json,
}

/// A configuration problem: the variable it concerns and what is expected.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {key}: {message}")]
pub struct ConfigError {
    /// The environment variable (or `KEY[entry]`).
    pub key: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl ConfigError {
    fn new(key: &str, message: impl Into<String>) -> Self {
        Self {
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

/// A database URL whose `Debug` hides the password.
#[derive(Clone)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    /// Wraps a URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self(SecretString::new(url))
    }

    /// The full URL, for the driver only.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// The URL with any password replaced, safe to log.
    pub fn redacted(&self) -> String {
        match url::Url::parse(self.expose()) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("***"));
                url.to_string()
            }
            _ => self.expose().to_owned(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

/// A client created or updated at start from `ALLOWED_CLIENTS`, `CLIENT_SECRETS` and
/// `ALLOWED_REDIRECT_URIS` (the Flask version's way of registering clients).
#[derive(Clone, Debug)]
pub struct ClientSeed {
    /// The client id.
    pub id: ClientId,
    /// Its secret.
    pub secret: SecretString,
    /// Its redirect URIs, matched exactly.
    pub redirect_uris: Vec<RedirectUri>,
}

/// The user created or updated at start from `DEMO_USERNAME` / `DEMO_PASSWORD`.
#[derive(Clone, Debug)]
pub struct DemoUser {
    /// Login name.
    pub username: Username,
    /// Password; when absent, one is generated at creation and printed once.
    pub password: Option<SecretString>,
}

/// Where and as whom audit events are shipped (`LOGGING_BACKEND_URL`).
#[derive(Clone, Debug)]
pub struct LoggingBackend {
    /// The logging service's base URL.
    pub url: String,
    /// The audience of the tokens we sign for it.
    pub audience: String,
    /// The `sub` of those tokens.
    pub subject: String,
}

/// How the pages look (`BRAND_NAME`, `BRAND_LOGO_FILE`, `BRAND_ACCENT_COLOR`).
#[derive(Clone, Debug)]
pub struct Brand {
    /// The product name in every page's header and title.
    pub name: String,
    /// The logo shown above it, read once at start, with its content type.
    pub logo: Option<(bytes::Bytes, &'static str)>,
    /// The accent colour (buttons, links, focus rings), `#rrggbb`.
    pub accent: Option<String>,
}

/// Where request spans are exported over OTLP/HTTP (`OTEL_EXPORTER_OTLP_ENDPOINT`).
#[derive(Clone, Debug)]
pub struct OtlpExport {
    /// The collector's traces URL: the endpoint with `/v1/traces` appended.
    pub traces_url: String,
    /// Extra headers for the collector (`OTEL_EXPORTER_OTLP_HEADERS`: `name=value,…`).
    pub headers: Vec<(String, SecretString)>,
    /// `service.name` of the exported spans (`OTEL_SERVICE_NAME`).
    pub service_name: String,
}

/// The validated configuration of one instance.
#[derive(Clone, Debug)]
pub struct Config {
    /// Production or dev mode.
    pub mode: Mode,
    /// Listen address (`BIND_ADDR`); port 0 picks a free port.
    pub bind_addr: SocketAddr,
    /// Our issuer identifier (`JWT_ISSUER`), the root of every URL we publish.
    pub issuer: Issuer,
    /// `DATABASE_URL`.
    pub database_url: DatabaseUrl,
    /// Lifetime of ID and access tokens, seconds (`JWT_EXPIRATION_MINUTES`).
    pub token_ttl_secs: i64,
    /// Lifetime of authorization codes, seconds.
    pub code_ttl_secs: i64,
    /// Allowed clock skew when checking `exp` and `nbf`, seconds.
    pub clock_skew_secs: i64,
    /// Session secret (`SESSION_SECRET`, alias `FLASK_SECRET_KEY`).
    pub session_secret: SecretString,
    /// Shared HS256 key (`JWT_SECRET_KEY`), used only for `hs256_audiences`.
    pub shared_key: Option<SecretString>,
    /// Audiences whose tokens are HS256 with the shared key.
    pub hs256_audiences: Vec<String>,
    /// The demo user, if any.
    pub demo_user: Option<DemoUser>,
    /// Clients registered from the environment at start.
    pub clients: Vec<ClientSeed>,
    /// Central log shipping, if configured.
    pub logging_backend: Option<LoggingBackend>,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter in `RUST_LOG` syntax.
    pub log_filter: Option<String>,
    /// Environment variables that look like settings but are not (likely typos), to warn about.
    pub warnings: Vec<String>,
    /// How often an instance reloads signing keys from the database, seconds.
    pub keys_reload_secs: u64,
    /// Largest request body accepted, bytes.
    pub body_limit_bytes: usize,
    /// A browser session ends after this long without use, seconds.
    pub session_idle_secs: i64,
    /// A browser session ends this long after sign-in however active, seconds.
    pub session_max_secs: i64,
    /// Key for secrets the server must read back (`KEY_ENCRYPTION_KEY`).
    pub key_encryption_key: Option<SecretString>,
    /// Lifetime of a refresh token, seconds (each rotation starts a new one).
    pub refresh_token_ttl_secs: i64,
    /// How long after a rotation a retry with the old refresh token gets the same new one.
    pub refresh_reuse_grace_secs: i64,
    /// Connection pool settings.
    pub database: DatabaseOptions,
    /// How often each instance removes expired rows, seconds.
    pub cleanup_interval_secs: u64,
    /// Peers whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Requests per minute per client IP; `None` is no limit.
    pub rate_limits: RateLimits,
    /// Failed sign-ins before an account is locked (`LOGIN_MAX_FAILURES`).
    pub login_max_failures: u32,
    /// Failed sign-ins from one IP before it is locked out (`LOGIN_MAX_FAILURES_PER_IP`).
    pub login_max_failures_per_ip: u32,
    /// The first lock's length, seconds; each further failure doubles it (at most a day).
    pub login_lock_secs: i64,
    /// Signing keys are rotated after this many days (0: never automatically).
    pub key_rotation_secs: Option<i64>,
    /// A connection must send a request's headers within this long, or it is closed.
    pub header_read_timeout: std::time::Duration,
    /// Where `/metrics` is served instead of the main address, if set (`METRICS_ADDR`).
    pub metrics_addr: Option<SocketAddr>,
    /// How the pages look.
    pub brand: Brand,
    /// How JWT access tokens are signed unless the client says otherwise (`ACCESS_TOKEN_ALG`).
    pub access_token_alg: crate::crypto::KeyAlg,
    /// OpenTelemetry trace export, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
    pub otlp: Option<OtlpExport>,
}

/// Requests per minute per client IP, per group of endpoints; `None` is no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimits {
    /// `/login` and `/consent`.
    pub login: Option<u32>,
    /// `/token`, `/introspect`, `/revoke`.
    pub token: Option<u32>,
    /// `/verify`.
    pub verify: Option<u32>,
}

/// How the connection pool behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseOptions {
    /// Connections per instance at most (`DATABASE_MAX_CONNECTIONS`).
    pub max_connections: u32,
    /// The longest a statement may run (PostgreSQL `statement_timeout`) or wait for a lock
    /// (SQLite busy timeout); also the longest a request waits for a free connection.
    pub statement_timeout: std::time::Duration,
    /// Connections are replaced after this long (`DATABASE_MAX_LIFETIME_SECONDS`), so a
    /// failover or a rebalanced proxy is picked up.
    pub max_lifetime: std::time::Duration,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            statement_timeout: std::time::Duration::from_secs(10),
            max_lifetime: std::time::Duration::from_secs(30 * 60),
        }
    }
}

impl Config {
    /// Loads and validates the configuration for `mode` from `env` (the process environment
    /// plus `.env`, as the binary passes it; tests pass their own).
    ///
    /// `DEV_MODE=true` turns production into dev mode, as it did in the Flask version.
    pub fn load(mode: Mode, env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        Self::build(mode, env, Enforce::SecurityChecks)
    }

    /// Loads the configuration for an administrative command (`user`, `client`, `keys`,
    /// `migrate`): only what storage needs is required, so an operator can manage users
    /// without the server's secrets at hand. Production rules still apply to what the command
    /// writes (https redirect URIs, strong client secrets) unless `DEV_MODE` is on.
    pub fn load_for_admin(env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        Self::build(Mode::Production, env, Enforce::StorageOnly)
    }

    fn build(
        mode: Mode,
        env: &HashMap<String, String>,
        enforce: Enforce,
    ) -> Result<Self, ConfigError> {
        let raw = sources::read(env)?;
        let mode = if raw.dev_mode {
            Mode::Development
        } else {
            mode
        };
        let production = mode == Mode::Production && enforce == Enforce::SecurityChecks;

        let bind_addr: SocketAddr = raw.bind_addr.parse().map_err(|_| {
            ConfigError::new("BIND_ADDR", "expected an address such as 127.0.0.1:5002")
        })?;

        let issuer_text = raw
            .jwt_issuer
            .clone()
            .unwrap_or_else(|| default_issuer(bind_addr));
        let issuer = Issuer::parse(&issuer_text)
            .map_err(|e| ConfigError::new("JWT_ISSUER", e.to_string()))?;
        if production && raw.jwt_issuer.is_none() {
            return Err(ConfigError::new(
                "JWT_ISSUER",
                "is not set: production needs this service's public https URL",
            ));
        }
        if production && !issuer.is_https() {
            return Err(ConfigError::new(
                "JWT_ISSUER",
                "must be an https URL outside dev mode (start-dev allows http)",
            ));
        }

        let (session_key, session_secret) = match (&raw.session_secret, &raw.flask_secret_key) {
            (Some(s), _) => ("SESSION_SECRET", Some(s.clone())),
            (None, Some(s)) => ("FLASK_SECRET_KEY", Some(s.clone())),
            (None, None) => ("SESSION_SECRET", None),
        };
        let session_secret = match session_secret {
            Some(secret) => {
                if production {
                    require_strong(session_key, &secret, MIN_SECRET_LEN)?;
                }
                secret
            }
            None if production => {
                return Err(ConfigError::new(
                    "SESSION_SECRET",
                    "is missing (FLASK_SECRET_KEY is accepted too): set at least 32 random characters",
                ));
            }
            None => SecretString::new(
                crate::crypto::random::random_token(32)
                    .map_err(|e| ConfigError::new("SESSION_SECRET", e.to_string()))?,
            ),
        };

        if let (Some(key), true) = (&raw.jwt_secret_key, production) {
            require_strong("JWT_SECRET_KEY", key, MIN_SECRET_LEN)?;
        }
        if let (Some(key), true) = (&raw.key_encryption_key, production) {
            require_strong("KEY_ENCRYPTION_KEY", key, MIN_SECRET_LEN)?;
        }
        let explicit_hs256 = sources::list(raw.hs256_audiences.as_ref(), "HS256_AUDIENCES")?;
        if raw.hs256_audiences.is_some()
            && !explicit_hs256.is_empty()
            && raw.jwt_secret_key.is_none()
        {
            return Err(ConfigError::new(
                "HS256_AUDIENCES",
                "is set but JWT_SECRET_KEY, the key to sign them with, is not",
            ));
        }
        let hs256_audiences = match (
            &raw.hs256_audiences,
            &raw.jwt_secret_key,
            &raw.logging_backend_aud,
        ) {
            (Some(_), _, _) => explicit_hs256,
            // The Flask version signed everything with JWT_SECRET_KEY; the logging service
            // (LOGGING_BACKEND_AUD, by default `logging-service`) still verifies that way.
            (None, Some(_), aud) => vec![aud.clone().unwrap_or_else(|| "logging-service".into())],
            (None, None, _) => Vec::new(),
        };

        let policy = if mode == Mode::Production {
            RedirectUriPolicy::HttpsOnly
        } else {
            RedirectUriPolicy::AllowHttpLoopback
        };
        let clients = match enforce {
            Enforce::SecurityChecks => client_seeds(&raw, mode, policy)?,
            Enforce::StorageOnly => Vec::new(),
        };

        let demo_user = match enforce {
            Enforce::SecurityChecks => demo_user(&raw, mode)?,
            Enforce::StorageOnly => None,
        };

        let logging_backend = match &raw.logging_backend_url {
            None => None,
            Some(url) => {
                url::Url::parse(url).map_err(|_| {
                    ConfigError::new("LOGGING_BACKEND_URL", "expected an absolute URL")
                })?;
                Some(LoggingBackend {
                    url: url.clone(),
                    audience: raw
                        .logging_backend_aud
                        .clone()
                        .unwrap_or_else(|| "logging-service".into()),
                    subject: raw
                        .identity_sub
                        .clone()
                        .unwrap_or_else(|| "identity-backend".into()),
                })
            }
        };

        let otlp = otlp_export(&raw)?;
        let brand = brand(&raw)?;
        let access_token_alg = match raw.access_token_alg.as_deref().map(str::trim) {
            None | Some("") => crate::crypto::KeyAlg::Rs256,
            Some(name) => crate::crypto::KeyAlg::parse(name).ok_or_else(|| {
                ConfigError::new("ACCESS_TOKEN_ALG", "expected RS256, ES256 or EdDSA")
            })?,
        };
        let log_format = match raw.log_format.as_deref() {
            None if production => LogFormat::Json,
            None => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some("pretty" | "text") => LogFormat::Pretty,
            Some(_) => return Err(ConfigError::new("LOG_FORMAT", "expected json or pretty")),
        };

        let token_ttl_secs = bounded(
            "JWT_EXPIRATION_MINUTES",
            raw.jwt_expiration_minutes,
            1,
            24 * 60,
        )? * 60;
        let code_ttl_secs = bounded("AUTH_CODE_TTL_SECONDS", raw.auth_code_ttl_seconds, 10, 600)?;
        let clock_skew_secs = bounded("CLOCK_SKEW_SECONDS", raw.clock_skew_seconds, 0, 300)?;
        bounded("KEYS_RELOAD_SECONDS", raw.keys_reload_seconds, 1, 3600)?;
        let database = DatabaseOptions {
            max_connections: u32::try_from(bounded(
                "DATABASE_MAX_CONNECTIONS",
                raw.database_max_connections,
                1,
                1000,
            )?)
            .unwrap_or(16),
            statement_timeout: std::time::Duration::from_millis(
                bounded(
                    "DATABASE_STATEMENT_TIMEOUT_MS",
                    raw.database_statement_timeout_ms,
                    100,
                    600_000,
                )?
                .unsigned_abs(),
            ),
            max_lifetime: std::time::Duration::from_secs(
                bounded(
                    "DATABASE_MAX_LIFETIME_SECONDS",
                    raw.database_max_lifetime_seconds,
                    60,
                    86_400,
                )?
                .unsigned_abs(),
            ),
        };
        let per_minute = |key: &str, value: u64| -> Result<Option<u32>, ConfigError> {
            let n = bounded(key, value, 0, 1_000_000)?;
            Ok(u32::try_from(n).ok().filter(|n| *n > 0))
        };
        let rate_limits = RateLimits {
            login: per_minute(
                "RATE_LIMIT_LOGIN_PER_MINUTE",
                raw.rate_limit_login_per_minute,
            )?,
            token: per_minute(
                "RATE_LIMIT_TOKEN_PER_MINUTE",
                raw.rate_limit_token_per_minute,
            )?,
            verify: per_minute(
                "RATE_LIMIT_VERIFY_PER_MINUTE",
                raw.rate_limit_verify_per_minute,
            )?,
        };
        let trusted_proxies = sources::list(raw.trusted_proxies.as_ref(), "TRUSTED_PROXIES")?
            .iter()
            .map(|item| {
                item.parse::<ipnet::IpNet>()
                    .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        ConfigError::new(
                            "TRUSTED_PROXIES",
                            format!("{item:?} is not an IP address or network (10.0.0.0/8)"),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let small = |key: &str, value: u64, min: u64, max: u64| -> Result<u32, ConfigError> {
            Ok(u32::try_from(bounded(key, value, min, max)?).unwrap_or(u32::MAX))
        };
        let login_max_failures = small("LOGIN_MAX_FAILURES", raw.login_max_failures, 1, 1000)?;
        let login_max_failures_per_ip = small(
            "LOGIN_MAX_FAILURES_PER_IP",
            raw.login_max_failures_per_ip,
            1,
            100_000,
        )?;
        let login_lock_secs =
            bounded("LOGIN_LOCK_MINUTES", raw.login_lock_minutes, 1, 24 * 60)? * 60;
        let header_read_timeout = std::time::Duration::from_secs(
            bounded(
                "HEADER_READ_TIMEOUT_SECONDS",
                raw.header_read_timeout_seconds,
                1,
                300,
            )?
            .unsigned_abs(),
        );
        let metrics_addr = match raw.metrics_addr.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(text.parse::<SocketAddr>().map_err(|_| {
                ConfigError::new("METRICS_ADDR", "expected HOST:PORT, e.g. 0.0.0.0:9102")
            })?),
        };
        let key_rotation_secs =
            Some(bounded("KEY_ROTATION_DAYS", raw.key_rotation_days, 0, 3650)? * 86_400)
                .filter(|s| *s > 0);
        bounded(
            "CLEANUP_INTERVAL_SECONDS",
            raw.cleanup_interval_seconds,
            1,
            86_400,
        )?;
        let session_idle_secs = bounded(
            "SESSION_IDLE_MINUTES",
            raw.session_idle_minutes,
            1,
            30 * 24 * 60,
        )? * 60;
        let session_max_secs =
            bounded("SESSION_MAX_HOURS", raw.session_max_hours, 1, 365 * 24)? * 3600;
        let refresh_token_ttl_secs =
            bounded("REFRESH_TOKEN_DAYS", raw.refresh_token_days, 1, 365)? * 86_400;
        let refresh_reuse_grace_secs = bounded(
            "REFRESH_REUSE_GRACE_SECONDS",
            raw.refresh_reuse_grace_seconds,
            0,
            120,
        )?;
        let body_limit = bounded("BODY_LIMIT_BYTES", raw.body_limit_bytes, 1024, 1024 * 1024)?;

        let database_url = DatabaseUrl(
            raw.database_url
                .clone()
                .unwrap_or_else(|| SecretString::new("sqlite://data/identity.db")),
        );

        Ok(Self {
            mode,
            bind_addr,
            issuer,
            database_url,
            token_ttl_secs,
            code_ttl_secs,
            clock_skew_secs,
            session_secret,
            shared_key: raw.jwt_secret_key.clone(),
            hs256_audiences,
            demo_user,
            clients,
            logging_backend,
            log_format,
            log_filter: raw.rust_log.clone(),
            warnings: sources::unknown_variables(env),
            session_idle_secs,
            session_max_secs,
            key_encryption_key: raw.key_encryption_key.clone(),
            refresh_token_ttl_secs,
            refresh_reuse_grace_secs,
            keys_reload_secs: raw.keys_reload_seconds,
            database,
            cleanup_interval_secs: raw.cleanup_interval_seconds,
            trusted_proxies,
            rate_limits,
            login_max_failures,
            login_max_failures_per_ip,
            login_lock_secs,
            key_rotation_secs,
            header_read_timeout,
            metrics_addr,
            otlp,
            access_token_alg,
            brand,
            body_limit_bytes: usize::try_from(body_limit).unwrap_or(64 * 1024),
        })
    }

    /// The redirect URI policy in force: https only in production.
    pub fn redirect_uri_policy(&self) -> RedirectUriPolicy {
        match self.mode {
            Mode::Production => RedirectUriPolicy::HttpsOnly,
            Mode::Development => RedirectUriPolicy::AllowHttpLoopback,
        }
    }
}

/// The dev issuer when `JWT_ISSUER` is not set: `localhost` on a loopback or wildcard
/// address, the name the platform's other services use for each other in development.
fn default_issuer(bind: SocketAddr) -> String {
    if bind.ip().is_loopback() || bind.ip().is_unspecified() {
        format!("http://localhost:{}", bind.port())
    } else {
        format!("http://{bind}")
    }
}

fn require_strong(key: &str, secret: &SecretString, min_len: usize) -> Result<(), ConfigError> {
    match weakness(secret.expose(), min_len) {
        Some(why) => Err(ConfigError::new(
            key,
            format!(
                "{why}; outside dev mode use at least {min_len} random characters (e.g. `openssl rand -base64 48`)"
            ),
        )),
        None => Ok(()),
    }
}

fn bounded(key: &str, value: u64, min: u64, max: u64) -> Result<i64, ConfigError> {
    if (min..=max).contains(&value) {
        Ok(i64::try_from(value).unwrap_or(i64::MAX))
    } else {
        Err(ConfigError::new(
            key,
            format!("expected a number from {min} to {max}"),
        ))
    }
}

fn client_seeds(
    raw: &sources::RawSettings,
    mode: Mode,
    policy: RedirectUriPolicy,
) -> Result<Vec<ClientSeed>, ConfigError> {
    let mut ids = sources::list(raw.allowed_clients.as_ref(), "ALLOWED_CLIENTS")?;
    let secrets = raw
        .client_secrets
        .as_ref()
        .map(|m| m.0.as_slice())
        .unwrap_or_default();
    let dev_default = ids.is_empty() && raw.allowed_clients.is_none() && mode == Mode::Development;
    if dev_default {
        ids.push(DEV_CLIENT_ID.to_owned());
    }
    let uris_for = redirect_uris(raw.allowed_redirect_uris.as_ref())?;
    let mut seeds = Vec::with_capacity(ids.len());
    for id in ids {
        let client_id = ClientId::parse(&id)
            .map_err(|e| ConfigError::new("ALLOWED_CLIENTS", format!("{id:?}: {e}")))?;
        let secret = match secrets.iter().find(|(k, _)| *k == id) {
            Some((_, secret)) => secret.clone(),
            None if dev_default => SecretString::new(DEV_CLIENT_SECRET),
            None => {
                return Err(ConfigError::new(
                    "CLIENT_SECRETS",
                    format!("has no secret for client {id}"),
                ));
            }
        };
        if mode == Mode::Production {
            require_strong(&format!("CLIENT_SECRETS[{id}]"), &secret, MIN_SECRET_LEN)?;
        }
        let mut uris = uris_for(&id);
        if uris.is_empty() && dev_default {
            uris.push(DEV_REDIRECT_URI.to_owned());
        }
        let redirect_uris = uris
            .iter()
            .map(|u| {
                RedirectUri::parse(u, policy)
                    .map_err(|e| ConfigError::new("ALLOWED_REDIRECT_URIS", format!("{u}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        seeds.push(ClientSeed {
            id: client_id,
            secret,
            redirect_uris,
        });
    }
    for (id, _) in secrets {
        if !seeds.iter().any(|s| s.id.as_str() == id) {
            return Err(ConfigError::new(
                "CLIENT_SECRETS",
                format!("names client {id}, which ALLOWED_CLIENTS does not list"),
            ));
        }
    }
    Ok(seeds)
}

/// `ALLOWED_REDIRECT_URIS`: a list for every client (comma-separated or a JSON array), or a
/// JSON object from client id to a URI or a list of URIs.
fn redirect_uris(
    value: Option<&serde_json::Value>,
) -> Result<impl Fn(&str) -> Vec<String>, ConfigError> {
    use serde_json::Value;
    let err = || {
        ConfigError::new(
            "ALLOWED_REDIRECT_URIS",
            "expected a comma-separated list, a JSON array, or a JSON object of client id to URIs",
        )
    };
    let parsed = match value {
        Some(Value::String(text)) if text.trim_start().starts_with(['[', '{']) => {
            serde_json::from_str(text).map_err(|_| err())?
        }
        Some(Value::String(text)) => Value::Array(
            text.split(',')
                .map(|s| Value::String(s.trim().to_owned()))
                .collect(),
        ),
        Some(other) => other.clone(),
        None => Value::Array(Vec::new()),
    };
    let strings = |v: &Value| -> Result<Vec<String>, ConfigError> {
        match v {
            Value::String(s) => Ok(vec![s.clone()]),
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned).ok_or_else(err))
                .collect(),
            _ => Err(err()),
        }
    };
    let (all, by_client) = match &parsed {
        Value::Object(map) => {
            let by_client = map
                .iter()
                .map(|(k, v)| Ok((k.clone(), strings(v)?)))
                .collect::<Result<HashMap<_, _>, ConfigError>>()?;
            (Vec::new(), by_client)
        }
        other => (strings(other)?, HashMap::new()),
    };
    Ok(move |client: &str| {
        let mut uris = by_client
            .get(client)
            .cloned()
            .unwrap_or_else(|| all.clone());
        uris.retain(|u| !u.is_empty());
        uris
    })
}

fn demo_user(raw: &sources::RawSettings, mode: Mode) -> Result<Option<DemoUser>, ConfigError> {
    let name = match (&raw.demo_username, mode) {
        (Some(name), _) => name.clone(),
        (None, Mode::Development) => DEV_DEMO_USERNAME.to_owned(),
        (None, Mode::Production) if raw.demo_password.is_some() => {
            return Err(ConfigError::new(
                "DEMO_USERNAME",
                "is required when DEMO_PASSWORD is set",
            ));
        }
        (None, Mode::Production) => return Ok(None),
    };
    let username =
        Username::parse(&name).map_err(|e| ConfigError::new("DEMO_USERNAME", e.to_string()))?;
    match (&raw.demo_password, mode) {
        (Some(password), Mode::Production) => require_strong("DEMO_PASSWORD", password, 12)?,
        // Dev mode prints a generated password once; production prints no secrets, so a
        // generated one would be known to nobody.
        (None, Mode::Production) => {
            return Err(ConfigError::new(
                "DEMO_PASSWORD",
                "is required with DEMO_USERNAME outside dev mode (or create users with `identity-backend user add`)",
            ));
        }
        (_, Mode::Development) => {}
    }
    Ok(Some(DemoUser {
        username,
        password: raw.demo_password.clone(),
    }))
}

#[cfg(test)]
mod tests;

/// `OTEL_EXPORTER_OTLP_ENDPOINT` (the collector's base URL, as in every OpenTelemetry SDK:
/// spans go to `<endpoint>/v1/traces`) with its headers and service name; `None` when unset.
fn otlp_export(raw: &sources::RawSettings) -> Result<Option<OtlpExport>, ConfigError> {
    const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
    let Some(endpoint) = raw
        .otel_exporter_otlp_endpoint
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    else {
        return Ok(None);
    };
    let url = url::Url::parse(endpoint)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| {
            ConfigError::new(
                ENDPOINT,
                "expected an http(s) URL, e.g. http://collector:4318",
            )
        })?;
    let traces_url = format!("{}/v1/traces", url.as_str().trim_end_matches('/'));
    let mut headers = Vec::new();
    if let Some(text) = &raw.otel_exporter_otlp_headers {
        for pair in text.expose().split(',').filter(|p| !p.trim().is_empty()) {
            let (name, value) = pair
                .split_once('=')
                .map(|(n, v)| (n.trim(), v.trim()))
                .filter(|(n, _)| {
                    !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
                .ok_or_else(|| {
                    ConfigError::new(
                        "OTEL_EXPORTER_OTLP_HEADERS",
                        "expected name=value pairs separated by commas",
                    )
                })?;
            headers.push((name.to_owned(), SecretString::new(value.to_owned())));
        }
    }
    let service_name = raw
        .otel_service_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "identity-backend".into());
    Ok(Some(OtlpExport {
        traces_url,
        headers,
        service_name,
    }))
}

/// The largest logo accepted: it is served with every page view.
const MAX_LOGO_BYTES: usize = 256 * 1024;

/// `BRAND_NAME`, `BRAND_LOGO_FILE` (read now: a missing file is a start-up error, not a broken
/// page) and `BRAND_ACCENT_COLOR` (strictly `#rgb` or `#rrggbb`: it goes into the stylesheet).
fn brand(raw: &sources::RawSettings) -> Result<Brand, ConfigError> {
    let name = match raw.brand_name.as_deref().map(str::trim) {
        None | Some("") => "identity-backend".to_owned(),
        Some(name) if name.chars().count() <= 60 && !name.chars().any(char::is_control) => {
            name.to_owned()
        }
        Some(_) => {
            return Err(ConfigError::new(
                "BRAND_NAME",
                "expected up to 60 printable characters",
            ));
        }
    };
    let accent = match raw.brand_accent_color.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(color) => Some(normalise_color(color).ok_or_else(|| {
            ConfigError::new("BRAND_ACCENT_COLOR", "expected a colour like #2f5bd3")
        })?),
    };
    let logo = match raw.brand_logo_file.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(path) => {
            const VAR: &str = "BRAND_LOGO_FILE";
            let extension = std::path::Path::new(path)
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            let content_type = match extension.as_deref() {
                Some("svg") => "image/svg+xml",
                Some("png") => "image/png",
                Some("jpg" | "jpeg") => "image/jpeg",
                Some("webp") => "image/webp",
                _ => {
                    return Err(ConfigError::new(
                        VAR,
                        "expected an .svg, .png, .jpg or .webp file",
                    ));
                }
            };
            let bytes = std::fs::read(path)
                .map_err(|e| ConfigError::new(VAR, format!("cannot read {path}: {e}")))?;
            if bytes.len() > MAX_LOGO_BYTES {
                return Err(ConfigError::new(VAR, "larger than 256 KiB"));
            }
            Some((bytes::Bytes::from(bytes), content_type))
        }
    };
    Ok(Brand { name, logo, accent })
}

/// `#rgb` or `#rrggbb` (any case) as `#rrggbb`; anything else is refused.
fn normalise_color(text: &str) -> Option<String> {
    let hex = text.strip_prefix('#')?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    match hex.len() {
        6 => Some(format!("#{}", hex.to_ascii_lowercase())),
        3 => Some(format!(
            "#{}",
            hex.chars()
                .flat_map(|c| [c, c])
                .collect::<String>()
                .to_ascii_lowercase()
        )),
        _ => None,
    }
}
