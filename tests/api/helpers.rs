//! `TestApp`: the real server on a random port, a fresh database, a clock the test controls.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use identity_backend::app::Application;
use identity_backend::clock::Clock;
use identity_backend::config::{Config, Mode};
use identity_backend::state::AppState;
use reqwest::Response;
use serde_json::Value;
use tokio::sync::oneshot;

/// The issuer dev-mode test apps use.
pub const DEV_ISSUER: &str = "http://localhost:5002";

/// A running application and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// Does not follow redirects.
    pub client: reqwest::Client,
    /// The app's shared state: database, keys, config.
    pub state: AppState,
    /// The app's clock; advance it to expire things.
    pub clock: Clock,
    /// When the clock started: the real time at spawn (browser sessions' cookie expiry is
    /// computed from the real clock by tower-sessions, so the two must agree).
    pub start: i64,
    /// The test's folder and database, kept alive for the app's lifetime (shared by siblings).
    storage: Arc<TestStorage>,
    stop: Option<oneshot::Sender<()>>,
}

impl TestApp {
    /// A dev-mode app with default settings.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Mode::Development, &[]).await
    }

    /// An app in `mode` with extra environment settings.
    pub async fn spawn_with(mode: Mode, extra: &[(&str, &str)]) -> TestApp {
        let storage = TestStorage::new().await;
        let config = test_config(&storage, mode, extra);
        Self::spawn_config(config, storage).await
    }

    /// An app on storage the test prepared (extra settings may point elsewhere, e.g. a relay).
    pub async fn spawn_on_storage(
        storage: Arc<TestStorage>,
        mode: Mode,
        extra: &[(&str, &str)],
    ) -> TestApp {
        let config = test_config(&storage, mode, extra);
        Self::spawn_config(config, storage).await
    }

    /// An app on SQLite even in the PostgreSQL pass (tests of SQLite itself).
    pub async fn spawn_sqlite(mode: Mode, extra: &[(&str, &str)]) -> TestApp {
        let storage = TestStorage::sqlite();
        let config = test_config(&storage, mode, extra);
        Self::spawn_config(config, storage).await
    }

    /// A dev-mode app whose issuer is its real address, for clients that fetch discovery
    /// from the issuer (certified RP libraries).
    pub async fn spawn_with_real_issuer(extra: &[(&str, &str)]) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let issuer = format!("http://{}", listener.local_addr().expect("bound"));
        let mut settings = vec![("JWT_ISSUER", issuer.as_str())];
        settings.extend_from_slice(extra);
        let storage = TestStorage::new().await;
        let config = test_config(&storage, Mode::Development, &settings);
        Self::spawn_on(listener, config, storage).await
    }

    /// A second instance of this app: same configuration and database, its own port and
    /// clock (as behind a load balancer).
    pub async fn spawn_sibling(&self) -> TestApp {
        let config = (*self.state.config).clone();
        let listener = tokio::net::TcpListener::bind(config.bind_addr)
            .await
            .expect("bind");
        Self::spawn_on(listener, config, self.storage.clone()).await
    }

    /// An app built from a ready configuration, keeping `storage` alive.
    async fn spawn_config(config: Config, storage: Arc<TestStorage>) -> TestApp {
        let listener = tokio::net::TcpListener::bind(config.bind_addr)
            .await
            .expect("bind");
        Self::spawn_on(listener, config, storage).await
    }

    async fn spawn_on(
        listener: tokio::net::TcpListener,
        config: Config,
        storage: Arc<TestStorage>,
    ) -> TestApp {
        let start = Clock::system().now();
        let clock = Clock::manual(start);
        let app = Application::build_on(listener, config, clock.clone())
            .await
            .expect("application builds");
        let address = format!("http://{}", app.local_addr().expect("bound"));
        let state = app.state().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        let client = browser();
        TestApp {
            address,
            client,
            state,
            clock,
            start,
            storage,
            stop: Some(stop),
        }
    }

    /// The URL of `path` on this app.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// `POST path` with a form body.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("request sent")
    }

    /// `POST /verify` and the status and JSON body of the answer.
    pub async fn verify(&self, body: &Value) -> (u16, Value) {
        let response = self.post_json("/verify", body).await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    /// A token from `/test-token` with these query parameters.
    pub async fn test_token(&self, query: &str) -> String {
        let response = self.get(&format!("/test-token{query}")).await;
        assert_eq!(response.status(), 200, "test-token answered");
        let body: Value = response.json().await.expect("JSON");
        body["id_token"].as_str().expect("id_token").to_owned()
    }

    /// Stops the server and starts a new one on the same database and configuration.
    pub async fn restart(self) -> TestApp {
        self.restart_with(|_| {}).await
    }

    /// Stops the server and starts a new one on the same database, with `change` applied to
    /// the configuration.
    pub async fn restart_with(mut self, change: impl FnOnce(&mut Config)) -> TestApp {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let mut config = (*self.state.config).clone();
        change(&mut config);
        TestApp::spawn_config(config, self.storage.clone()).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The database every test app of the PostgreSQL pass uses a database of its own on.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

/// A test's own folder and database: a SQLite file in the folder, or, when
/// `TEST_DATABASE_URL` is set (the PostgreSQL pass), a fresh database on that server, dropped
/// when the last app using it is.
pub struct TestStorage {
    dir: tempfile::TempDir,
    /// The database URL the apps use.
    pub database_url: String,
    /// Dropped with the storage: the database goes with it.
    _postgres: Option<PgTestDatabase>,
}

struct PgTestDatabase {
    server_url: String,
    name: String,
}

impl TestStorage {
    /// Storage for the current pass.
    pub async fn new() -> Arc<Self> {
        match std::env::var(TEST_DATABASE_URL) {
            Ok(server_url) if !server_url.is_empty() => Self::postgres(server_url).await,
            _ => Self::sqlite(),
        }
    }

    /// A SQLite file, whatever the pass.
    pub fn sqlite() -> Arc<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = format!("sqlite://{}/identity.db", dir.path().display());
        Arc::new(Self {
            dir,
            database_url,
            _postgres: None,
        })
    }

    async fn postgres(server_url: String) -> Arc<Self> {
        use sqlx::Connection;
        let name = format!("ib_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&server_url)
            .await
            .unwrap_or_else(|e| panic!("{TEST_DATABASE_URL} is set but unreachable: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create the test database");
        let _ = admin.close().await;
        let mut url = url::Url::parse(&server_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&name);
        Arc::new(Self {
            dir: tempfile::tempdir().expect("temp dir"),
            database_url: url.to_string(),
            _postgres: Some(PgTestDatabase { server_url, name }),
        })
    }

    /// The test's folder.
    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for PgTestDatabase {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime: do the async work on a thread of its own.
        let (server_url, name) = (self.server_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            use sqlx::Connection;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&server_url).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("note: could not drop the test database {}", self.name);
        }
    }
}

/// The configuration of a test app on `storage`, port 0.
fn test_config(storage: &TestStorage, mode: Mode, extra: &[(&str, &str)]) -> Config {
    let mut env: HashMap<String, String> = HashMap::from([
        ("BIND_ADDR".into(), "127.0.0.1:0".into()),
        ("DATABASE_URL".into(), storage.database_url.clone()),
        ("JWT_ISSUER".into(), DEV_ISSUER.into()),
        // A config/identity.toml in the working directory must not leak into tests.
        ("IDENTITY_CONFIG".into(), write_empty_toml(storage.path())),
    ]);
    if mode == Mode::Production {
        env.insert("JWT_ISSUER".into(), "https://id.example.test".into());
        env.insert(
            "SESSION_SECRET".into(),
            "dkYM8s8HJGPjjWdXeC9M8uKDnt-G_faRZOEeMYSx4p4".into(),
        );
    }
    for (k, v) in extra {
        env.insert((*k).into(), (*v).into());
    }
    Config::load(mode, &env).expect("valid test configuration")
}

/// The TLS provider reqwest (built with rustls and no provider of its own) needs; the
/// application installs it too, but a test may build a client before any application runs.
pub fn tls_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// A plain HTTP client (follows redirects, no cookies).
pub fn http_client() -> reqwest::Client {
    tls_provider();
    reqwest::Client::new()
}

/// A client that keeps cookies and does not follow redirects: a browser, for our purposes.
pub fn browser() -> reqwest::Client {
    tls_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

fn write_empty_toml(dir: &std::path::Path) -> String {
    let path = dir.join("identity.toml");
    std::fs::write(
        &path,
        "# test configuration: everything comes from the environment\n",
    )
    .expect("write toml");
    path.display().to_string()
}

/// The payload of a JWT, decoded without verification (for asserting on what we issued).
pub fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON payload")
}

/// The header of a JWT, decoded without verification.
pub fn header_of(token: &str) -> Value {
    use base64::Engine;
    let header = token.split('.').next().expect("three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON header")
}

/// The dev client every dev-mode app registers.
pub const CLIENT_ID: &str = "browser-ui";
/// Its secret.
pub const CLIENT_SECRET: &str = "dev-client-secret";
/// Its redirect URI.
pub const REDIRECT_URI: &str = "http://localhost:5000/callback";

/// The hidden and prefilled fields of the first form in `html`, by name.
pub fn form_fields(html: &str) -> HashMap<String, String> {
    let mut fields = HashMap::new();
    for input in html.split("<input").skip(1) {
        let attr = |name: &str| {
            let start = input.find(&format!("{name}=\""))? + name.len() + 2;
            let end = input[start..].find('"')? + start;
            // askama escapes as numeric references; `&` last so nothing is decoded twice.
            Some(
                input[start..end]
                    .replace("&#34;", "\"")
                    .replace("&#39;", "'")
                    .replace("&#60;", "<")
                    .replace("&#62;", ">")
                    .replace("&#38;", "&"),
            )
        };
        if let Some(name) = attr("name") {
            fields.insert(name, attr("value").unwrap_or_default());
        }
    }
    fields
}

/// The query parameters of a URL (a `Location` header), decoded.
pub fn query_of(url: &str) -> HashMap<String, String> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// The `Location` of a redirect response.
pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .expect("ASCII")
        .to_owned()
}

impl TestApp {
    /// Creates a user through the same service the CLI uses.
    pub async fn add_user(
        &self,
        username: &str,
        password: &str,
    ) -> identity_backend::store::users::User {
        let spec = identity_backend::service::admin::UserSpec {
            username: username.into(),
            password: Some(identity_backend::crypto::SecretString::new(password)),
            email: Some(format!("{username}@example.com")),
            name: Some(format!("User {username}")),
        };
        identity_backend::service::admin::add_user(
            &self.state.db,
            &self.state.hasher,
            &self.clock,
            spec,
        )
        .await
        .expect("user added")
        .0
    }

    /// `GET /authorize?{query}` in `browser`.
    pub async fn authorize(&self, browser: &reqwest::Client, query: &str) -> Response {
        browser
            .get(self.url(&format!("/authorize?{query}")))
            .send()
            .await
            .expect("request sent")
    }

    /// Submits the sign-in form `page` (the HTML of a login page) in `browser`.
    pub async fn submit_login(
        &self,
        browser: &reqwest::Client,
        page: &str,
        username: &str,
        password: &str,
    ) -> Response {
        let mut fields = form_fields(page);
        fields.insert("username".into(), username.into());
        fields.insert("password".into(), password.into());
        fields.insert("action".into(), "sign_in".into());
        browser
            .post(self.url("/login"))
            .form(&fields)
            .send()
            .await
            .expect("request sent")
    }

    /// Signs in through the login page and returns the redirect back to the client.
    pub async fn sign_in(
        &self,
        browser: &reqwest::Client,
        query: &str,
        username: &str,
        password: &str,
    ) -> String {
        let page = self.authorize(browser, query).await;
        assert_eq!(page.status(), 200, "the sign-in page");
        let html = page.text().await.expect("HTML");
        let done = self.submit_login(browser, &html, username, password).await;
        // RFC 9700 §4.12: 303 after a form post, so the password is never re-posted.
        assert_eq!(done.status(), 303, "signed in and sent back");
        location(&done)
    }

    /// Redeems `code` at `/token` as the dev client (`client_secret_post`, as the gateway does).
    pub async fn redeem(&self, code: &str) -> Response {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("redirect_uri", REDIRECT_URI),
        ];
        self.client
            .post(self.url("/token"))
            .form(&form)
            .send()
            .await
            .expect("request sent")
    }
}

/// An authorization request query for the dev client with `extra` parameters appended.
pub fn gateway_query(extra: &str) -> String {
    let base = format!(
        "client_id={CLIENT_ID}&redirect_uri={}&response_type=code&scope=openid&state=st-1",
        urlencode(REDIRECT_URI)
    );
    if extra.is_empty() {
        base
    } else {
        format!("{base}&{extra}")
    }
}

/// Form-urlencodes one value.
pub fn urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A confidential client registration with every optional field empty: tests name only what
/// they care about (`ClientSpec { audiences: …, ..client_spec("worker") }`).
pub fn client_spec(id: &str) -> identity_backend::service::admin::ClientSpec {
    identity_backend::service::admin::ClientSpec {
        client_id: id.into(),
        name: None,
        client_type: identity_backend::oidc::ClientType::Confidential,
        redirect_uris: vec![],
        grant_types: vec![],
        scopes: None,
        audiences: vec![],
        default_audience: None,
        auth_method: None,
        secret: None,
        jwks: None,
        may_act_for: vec![],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        first_party: true,
        id_token_alg: None,
        access_token_alg: None,
    }
}
