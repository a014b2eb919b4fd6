//! The `identity-backend` command line (DESIGN §6).

use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use identity_backend::app::{Application, open_database};
use identity_backend::clock::{Clock, UnixTime};
use identity_backend::config::{Config, DatabaseUrl, Mode};
use identity_backend::crypto::{KeyAlg, PasswordHasher, SecretString};
use identity_backend::oidc::{AuthMethod, ClientType, GrantType};
use identity_backend::service::admin::{self, AccountState, ClientSpec, UserSpec};
use identity_backend::service::bootstrap::DemoPassword;
use identity_backend::service::{ServiceError, keys};
use identity_backend::store::Db;
use identity_backend::store::clients::Client;
use identity_backend::telemetry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Parser)]
#[command(
    name = "identity-backend",
    version,
    about = "OpenID Connect provider and JWT issuer"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (production: https issuer and strong secrets required).
    Start,
    /// Run the server in dev mode: http issuer, /test-token, a demo user and client.
    StartDev,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Copy users, clients, signing keys and consents from DATABASE_URL into another,
    /// empty database (moving from SQLite to PostgreSQL); stop the server first.
    Copy {
        /// The target, e.g. postgres://user:pass@host/db (migrated first).
        #[arg(long)]
        to: String,
    },
    /// Exit 0 when the server answers /ping (for container health checks).
    Healthcheck {
        /// Address to check; defaults to BIND_ADDR (0.0.0.0 becomes 127.0.0.1).
        #[arg(long)]
        addr: Option<SocketAddr>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; without --password-stdin a password is generated and printed once.
    Add {
        /// Login name.
        username: String,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Email address.
        #[arg(long)]
        email: Option<String>,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
    },
    /// List users.
    List,
    /// Set a user's password; without --password-stdin one is generated and printed once.
    Passwd {
        /// Login name.
        username: String,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List a user's browser sessions.
    Sessions {
        /// Login name.
        username: String,
    },
    /// Sign a user out everywhere: end every session and revoke every refresh token.
    Logout {
        /// Login name.
        username: String,
    },
    /// End the lock that failed sign-ins put on an account name.
    Unlock {
        /// Login name.
        username: String,
    },
    /// Stop a user from signing in.
    Disable {
        /// Login name.
        username: String,
    },
    /// Let a disabled user sign in again.
    Enable {
        /// Login name.
        username: String,
    },
    /// Delete a user for good.
    Delete {
        /// Login name.
        username: String,
    },
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Register a client; a confidential client's secret is generated and printed once
    /// unless --secret-stdin is given.
    Add(Box<ClientAddArgs>),
    /// List clients.
    List,
    /// Show one client.
    Show {
        /// Client id.
        client_id: String,
    },
    /// Remove a client.
    Remove {
        /// Client id.
        client_id: String,
    },
    /// Generate a new secret (printed once); the old one stops working at once.
    RotateSecret {
        /// Client id.
        client_id: String,
    },
}

#[derive(Args)]
struct ClientAddArgs {
    /// Client id (A-Z a-z 0-9 - . _ ~).
    client_id: String,
    /// Display name shown on the sign-in page.
    #[arg(long)]
    name: Option<String>,
    /// A public client (SPA, native app): no secret, PKCE required.
    #[arg(long)]
    public: bool,
    /// A redirect URI, matched exactly; repeat for several.
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// A grant type (authorization_code, refresh_token, client_credentials); repeatable.
    /// Default: authorization_code + refresh_token with redirect URIs, else client_credentials.
    #[arg(long = "grant-type", value_parser = parse_grant)]
    grant_types: Vec<GrantType>,
    /// Space-separated scopes the client may request.
    #[arg(long)]
    scope: Option<String>,
    /// An audience the client may request tokens for; repeatable.
    #[arg(long = "audience")]
    audiences: Vec<String>,
    /// The audience used when a token request names none.
    #[arg(long)]
    default_audience: Option<String>,
    /// Token endpoint authentication method (default client_secret_basic, or none if public).
    #[arg(long, value_parser = parse_auth_method)]
    auth_method: Option<AuthMethod>,
    /// Read the client secret from standard input instead of generating one.
    #[arg(long)]
    secret_stdin: bool,
    /// Where the browser may be sent after signing out (RP-Initiated Logout), matched
    /// exactly; repeatable.
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// Where the client is told that a user's session ended (Back-Channel Logout 1.0):
    /// https, or http for a confidential client.
    #[arg(long)]
    backchannel_logout_uri: Option<String>,
    /// Sign its ID tokens (and logout tokens) with RS256 (the default), ES256 or EdDSA
    /// (OIDC Registration's id_token_signed_response_alg).
    #[arg(long, value_parser = parse_alg)]
    id_token_alg: Option<KeyAlg>,
    /// Sign its JWT access tokens with RS256, ES256 or EdDSA instead of ACCESS_TOKEN_ALG.
    #[arg(long, value_parser = parse_alg)]
    access_token_alg: Option<KeyAlg>,
    /// A client from outside the platform: users are asked for consent before it gets
    /// their sign-in (the platform's own apps are first-party and never ask).
    #[arg(long)]
    third_party: bool,
    /// A service this client may request tokens on behalf of (the first version's `sub`);
    /// repeatable.
    #[arg(long = "act-for")]
    act_for: Vec<String>,
    /// The client's public keys (a JWKS or one JWK, JSON) for --auth-method private_key_jwt.
    #[arg(long)]
    jwks_file: Option<std::path::PathBuf>,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// List signing keys and their state.
    List,
    /// Add a new signing key: published at once, signing after the pre-publication time
    /// (JWKS cache age + two reloads); the old one stays published until its tokens expire.
    Rotate {
        /// Sign with the new key at once (a compromised key): verifiers that have not
        /// reloaded the JWKS yet refuse its tokens for a while.
        #[arg(long)]
        now: bool,
    },
    /// Remove a key that no longer signs from the JWKS at once: every token it signed stops
    /// verifying (a compromised key, after `rotate --now`).
    Withdraw {
        /// The key's id (`keys list`).
        kid: String,
    },
}

fn parse_grant(s: &str) -> Result<GrantType, String> {
    s.parse().map_err(|e| format!("{e}"))
}

fn parse_auth_method(s: &str) -> Result<AuthMethod, String> {
    s.parse().map_err(|e| format!("{e}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = match environment() {
        Ok(env) => env,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli.command, env))
}

/// The process environment over `.env` (the environment wins, as with docker-compose).
fn environment() -> anyhow::Result<HashMap<String, String>> {
    let mut env = HashMap::new();
    if std::path::Path::new(".env").is_file() {
        for item in dotenvy::from_path_iter(".env").context("cannot read .env")? {
            let (key, value) = item.context("cannot parse .env")?;
            env.insert(key, value);
        }
    }
    env.extend(
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
    );
    Ok(env)
}

async fn run(command: Command, env: HashMap<String, String>) -> ExitCode {
    let (mode, is_server) = match &command {
        Command::Start => (Mode::Production, true),
        Command::StartDev => (Mode::Development, true),
        _ => (Mode::Production, false),
    };
    let config = if is_server {
        Config::load(mode, &env)
    } else {
        Config::load_for_admin(&env)
    };
    let config = match config {
        Ok(config) => config,
        Err(e) => {
            // One clear line naming the variable (DESIGN §2).
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Start | Command::StartDev => serve(config).await,
        Command::Healthcheck { addr } => healthcheck(addr.unwrap_or(config.bind_addr)).await,
        other => {
            let _telemetry =
                telemetry::init(config.log_format, config.log_filter.as_deref(), None, None);
            admin(other, config).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    // With LOGGING_BACKEND_URL, audit events are also queued for the central log service.
    let shipping = config.logging_backend.as_ref().map(|_| {
        let stats = std::sync::Arc::new(identity_backend::metrics::ShipperStats::default());
        let (sink, events) = telemetry::AuditSink::new(stats.clone());
        (sink, events, stats)
    });
    let (sink, shipping) = match shipping {
        Some((sink, events, stats)) => (Some(sink), Some((events, stats))),
        None => (None, None),
    };
    let telemetry = telemetry::init(
        config.log_format,
        config.log_filter.as_deref(),
        sink,
        config.otlp.as_ref(),
    );
    if config.mode == Mode::Development {
        tracing::warn!(
            "dev mode: http issuer allowed, missing and placeholder secrets accepted, /test-token enabled; never use in production"
        );
    }
    for variable in &config.warnings {
        tracing::warn!(%variable, "not a setting of this service (a typo?); ignored");
    }
    let mut app = Application::build(config, Clock::system()).await?;
    if let Some((events, stats)) = shipping {
        app.ship_logs(events, stats);
    }
    let addr = app.local_addr().context("cannot read the bound address")?;
    tracing::info!(%addr, issuer = %app.state().config.issuer, "listening");
    if app.state().config.mode == Mode::Development {
        print_dev_banner(&app, addr);
    }
    let result = app.run_until_stopped(shutdown_signal()).await;
    telemetry.shutdown().await;
    result
}

fn print_dev_banner(app: &Application, addr: SocketAddr) {
    let config = &app.state().config;
    let issuer = &config.issuer;
    let mut out = String::new();
    out.push_str(&format!(
        "\nidentity-backend (dev mode) on http://{addr}\n\n"
    ));
    if let Some((name, password)) = &app.seeded().demo_user {
        let password = match password {
            DemoPassword::Generated(p) => {
                format!("{}   (generated now; shown only this once)", p.expose())
            }
            DemoPassword::FromEnvironment => "from DEMO_PASSWORD".into(),
            DemoPassword::Unchanged => {
                format!("unchanged (reset with: identity-backend user passwd {name})")
            }
        };
        out.push_str(&format!(
            "  demo user      {name}\n  password       {password}\n"
        ));
    }
    for seed in &config.clients {
        let secret = if seed.secret.expose() == identity_backend::config::DEV_CLIENT_SECRET {
            seed.secret.expose().to_owned()
        } else {
            "from CLIENT_SECRETS".into()
        };
        let uris: Vec<_> = seed.redirect_uris.iter().map(|u| u.as_str()).collect();
        out.push_str(&format!(
            "  client         {}\n  client secret  {secret}\n  redirect URIs  {}\n",
            seed.id,
            uris.join(", ")
        ));
    }
    out.push_str(&format!(
        "\n  try:\n    curl {}/.well-known/openid-configuration\n    curl {}\n    curl {}\n\n",
        issuer,
        issuer.endpoint("/jwks.json"),
        issuer.endpoint("/test-token"),
    ));
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

async fn healthcheck(addr: SocketAddr) -> anyhow::Result<()> {
    let addr = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => {
            SocketAddr::from(([127, 0, 0, 1], addr.port()))
        }
        ip if ip.is_unspecified() => SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port())),
        _ => addr,
    };
    let check = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream
            .write_all(b"GET /ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await?;
        let mut response = Vec::new();
        stream.take(4096).read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = tokio::time::timeout(Duration::from_secs(3), check)
        .await
        .with_context(|| format!("no answer from {addr} within 3 s"))?
        .with_context(|| format!("cannot reach {addr}"))?;
    let text = String::from_utf8_lossy(&response);
    if text.starts_with("HTTP/1.1 200") && text.ends_with("OK") {
        Ok(())
    } else {
        bail!(
            "unexpected answer from {addr}: {}",
            text.lines().next().unwrap_or("")
        )
    }
}

async fn admin(command: Command, config: Config) -> anyhow::Result<()> {
    let db = open_database(&config).await?;
    let clock = Clock::system();
    let result = match command {
        Command::Migrate => {
            println!("migrations applied to {}", config.database_url.redacted());
            Ok(())
        }
        Command::User(cmd) => user(cmd, &db, &clock).await,
        Command::Client(cmd) => client(cmd, &db, &clock, &config).await,
        Command::Keys(KeysCommand::List) => {
            let window = keys::publication_window(&config);
            let now = clock.now();
            for key in keys::list(&db, window).await? {
                let state = match (key.retired_at, key.published_until) {
                    (Some(retires), _) if retires <= key.activates_at => {
                        "superseded before it signed".to_owned()
                    }
                    _ if key.activates_at > now => {
                        format!("next (published; signs from {})", when(key.activates_at))
                    }
                    (None, _) => "active (signing)".to_owned(),
                    (Some(retires), _) if retires > now => {
                        format!("active (signing until {})", when(retires))
                    }
                    (Some(_), Some(until)) if until > now => {
                        format!("retired, published until {}", when(until))
                    }
                    _ => "expired (no longer published)".to_owned(),
                };
                println!(
                    "{}  {}  created {}  {state}",
                    key.kid,
                    key.alg,
                    when(key.created_at)
                );
            }
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate { now }) => {
            let activation = if now {
                keys::Activation::Immediate
            } else {
                keys::Activation::Scheduled
            };
            for rotation in keys::rotate(&db, &clock, &config, activation).await? {
                let wait = rotation.activates_at - clock.now();
                let signing = if wait > 0 {
                    format!(
                        "signing from {} (in {wait} s, plus up to {} s until every instance reloads)",
                        when(rotation.activates_at),
                        config.keys_reload_secs
                    )
                } else {
                    format!(
                        "signing now (every instance within {} s)",
                        config.keys_reload_secs
                    )
                };
                println!(
                    "new {} key {}: published within {} s, {signing}; the previous key stays published {} s after that",
                    rotation.alg,
                    rotation.kid,
                    config.keys_reload_secs,
                    keys::publication_window(&config)
                );
            }
            Ok(())
        }
        Command::Copy { to } => {
            let url = DatabaseUrl::new(to);
            let target = Db::connect(&url, &config.database)
                .await
                .with_context(|| format!("cannot open {}", url.redacted()))?;
            target
                .migrate()
                .await
                .with_context(|| format!("cannot apply migrations to {}", url.redacted()))?;
            let copied = admin::copy_to(&db, &target).await;
            target.close().await;
            copied.map(|c| {
                println!(
                    "copied {} user(s), {} client(s), {} signing key(s), {} consent(s) to {}",
                    c.users,
                    c.clients,
                    c.keys,
                    c.consents,
                    url.redacted()
                );
            })
        }
        Command::Keys(KeysCommand::Withdraw { kid }) => keys::withdraw(&db, &clock, &kid)
            .await
            .map(|()| {
                println!(
                    "withdrew {kid}: gone from every instance's JWKS within {} s; its tokens no longer verify",
                    config.keys_reload_secs
                );
            }),
        Command::Start | Command::StartDev | Command::Healthcheck { .. } => Ok(()),
    };
    db.close().await;
    Ok(result?)
}

async fn user(cmd: UserCommand, db: &Db, clock: &Clock) -> Result<(), ServiceError> {
    let hasher = || PasswordHasher::new(1);
    match cmd {
        UserCommand::Add {
            username,
            password_stdin,
            email,
            name,
        } => {
            let password = read_secret(password_stdin, "password")?;
            let spec = UserSpec {
                username,
                password,
                email,
                name,
            };
            let (user, generated) = admin::add_user(db, &hasher()?, clock, spec).await?;
            println!("created user {} (id {})", user.username, user.id);
            print_generated("password", generated);
        }
        UserCommand::List => {
            for u in admin::list_users(db).await? {
                let state = if u.disabled { "disabled" } else { "enabled" };
                let email = u.email.as_deref().unwrap_or("-");
                println!(
                    "{}  {}  {email}  {state}  created {}",
                    u.username,
                    u.id,
                    when(u.created_at)
                );
            }
        }
        UserCommand::Passwd {
            username,
            password_stdin,
        } => {
            let password = read_secret(password_stdin, "password")?;
            let generated = admin::set_password(db, &hasher()?, clock, &username, password).await?;
            println!("password changed for {username}");
            print_generated("password", generated);
        }
        UserCommand::Sessions { username } => {
            let sessions = admin::user_sessions(db, clock, &username).await?;
            if sessions.is_empty() {
                println!("{username} has no active sessions");
            }
            for s in sessions {
                let signed_in = s.auth_time.map_or_else(|| "-".to_owned(), when);
                println!(
                    "{}  signed in {signed_in}  expires {}",
                    s.sid.as_deref().unwrap_or("-"),
                    when(s.expires_at)
                );
            }
        }
        UserCommand::Logout { username } => {
            let (sessions, tokens) = admin::logout_user(db, clock, &username).await?;
            println!(
                "signed {username} out: {sessions} session(s) ended, {tokens} refresh token(s) revoked"
            );
        }
        UserCommand::Unlock { username } => {
            if identity_backend::service::throttle::unlock(db, &username).await? {
                println!("unlocked {username}: failed sign-ins forgotten");
            } else {
                println!("{username} was not locked");
            }
        }
        UserCommand::Disable { username } => {
            admin::set_account_state(db, clock, &username, AccountState::Disabled).await?;
            println!("disabled {username}");
        }
        UserCommand::Enable { username } => {
            admin::set_account_state(db, clock, &username, AccountState::Enabled).await?;
            println!("enabled {username}");
        }
        UserCommand::Delete { username } => {
            admin::delete_user(db, clock, &username).await?;
            println!("deleted {username}");
        }
    }
    Ok(())
}

async fn client(
    cmd: ClientCommand,
    db: &Db,
    clock: &Clock,
    config: &Config,
) -> Result<(), ServiceError> {
    match cmd {
        ClientCommand::Add(args) => {
            let secret = read_secret(args.secret_stdin, "client secret")?;
            let jwks = match &args.jwks_file {
                Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                    ServiceError::Invalid(format!("cannot read {}: {e}", path.display()))
                })?),
                None => None,
            };
            let spec = ClientSpec {
                client_id: args.client_id,
                name: args.name,
                client_type: if args.public {
                    ClientType::Public
                } else {
                    ClientType::Confidential
                },
                redirect_uris: args.redirect_uris,
                grant_types: args.grant_types,
                scopes: args.scope,
                audiences: args.audiences,
                default_audience: args.default_audience,
                auth_method: args.auth_method,
                secret,
                jwks,
                may_act_for: args.act_for,
                post_logout_redirect_uris: args.post_logout_redirect_uris,
                backchannel_logout_uri: args.backchannel_logout_uri,
                first_party: !args.third_party,
                id_token_alg: args.id_token_alg,
                access_token_alg: args.access_token_alg,
            };
            let (client, generated) = admin::add_client(db, clock, config, spec).await?;
            print_client(&client);
            print_generated("client secret", generated);
        }
        ClientCommand::List => {
            for c in admin::list_clients(db).await? {
                println!(
                    "{}  {}  {}  {}",
                    c.client_id,
                    c.client_type,
                    c.grant_types.join(","),
                    c.name
                );
            }
        }
        ClientCommand::Show { client_id } => {
            print_client(&admin::show_client(db, &client_id).await?)
        }
        ClientCommand::Remove { client_id } => {
            admin::remove_client(db, &client_id).await?;
            println!("removed {client_id}");
        }
        ClientCommand::RotateSecret { client_id } => {
            let secret = admin::rotate_client_secret(db, clock, config, &client_id).await?;
            println!("new secret for {client_id}; the old one no longer works");
            print_generated("client secret", Some(secret));
        }
    }
    Ok(())
}

fn print_client(c: &Client) {
    println!("client_id                   {}", c.client_id);
    println!("name                        {}", c.name);
    println!("type                        {}", c.client_type);
    println!(
        "token_endpoint_auth_method  {}",
        c.token_endpoint_auth_method
    );
    println!("grant_types                 {}", c.grant_types.join(" "));
    println!("scopes                      {}", c.scopes);
    println!("audiences                   {}", c.audiences.join(" "));
    println!(
        "default_audience            {}",
        c.default_audience.as_deref().unwrap_or("-")
    );
    for uri in &c.redirect_uris {
        println!("redirect_uri                {uri}");
    }
    for uri in &c.post_logout_redirect_uris {
        println!("post_logout_redirect_uri    {uri}");
    }
    if let Some(uri) = &c.backchannel_logout_uri {
        println!("backchannel_logout_uri      {uri}");
    }
    println!(
        "id_token_signed_alg         {}",
        c.id_token_alg.as_deref().unwrap_or("RS256")
    );
    println!(
        "access_token_signed_alg     {}",
        c.access_token_alg.as_deref().unwrap_or("ACCESS_TOKEN_ALG")
    );
    println!(
        "party                       {}",
        if c.first_party {
            "first (no consent page)"
        } else {
            "third (asks for consent)"
        }
    );
    println!("created                     {}", when(c.created_at));
}

fn print_generated(what: &str, secret: Option<SecretString>) {
    if let Some(secret) = secret {
        println!("{what}: {}", secret.expose());
        println!("(shown only now; it is stored as a hash)");
    }
}

/// Reads a secret from standard input: the first line, without its line ending.
fn read_secret(from_stdin: bool, what: &str) -> Result<Option<SecretString>, ServiceError> {
    if !from_stdin {
        return Ok(None);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .take(64 * 1024)
        .read_line(&mut line)
        .map_err(|e| {
            ServiceError::Invalid(format!("cannot read the {what} from standard input: {e}"))
        })?;
    let secret = line.trim_end_matches(['\r', '\n']);
    if secret.is_empty() {
        return Err(ServiceError::Invalid(format!(
            "the {what} on standard input is empty"
        )));
    }
    Ok(Some(SecretString::new(secret)))
}

fn when(t: UnixTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

fn parse_alg(name: &str) -> Result<KeyAlg, String> {
    KeyAlg::parse(name).ok_or_else(|| "expected RS256, ES256 or EdDSA".to_owned())
}
