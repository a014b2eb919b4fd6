//! `TestApp`: the real server on a random port, a fresh database, a clock the test controls.

use std::collections::HashMap;
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
    /// The database folder, kept alive for the app's lifetime.
    dir: Option<tempfile::TempDir>,
    stop: Option<oneshot::Sender<()>>,
}

impl TestApp {
    /// A dev-mode app with default settings.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Mode::Development, &[]).await
    }

    /// An app in `mode` with extra environment settings.
    pub async fn spawn_with(mode: Mode, extra: &[(&str, &str)]) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = format!("sqlite://{}/identity.db", dir.path().display());
        let mut env: HashMap<String, String> = HashMap::from([
            ("BIND_ADDR".into(), "127.0.0.1:0".into()),
            ("DATABASE_URL".into(), database_url),
            ("JWT_ISSUER".into(), DEV_ISSUER.into()),
            // A config/identity.toml in the working directory must not leak into tests.
            ("IDENTITY_CONFIG".into(), write_empty_toml(&dir)),
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
        let config = Config::load(mode, &env).expect("valid test configuration");
        Self::spawn_config(config, dir).await
    }

    /// An app built from a ready configuration, keeping `dir` alive.
    pub async fn spawn_config(config: Config, dir: tempfile::TempDir) -> TestApp {
        let start = Clock::system().now();
        let clock = Clock::manual(start);
        let app = Application::build(config, clock.clone())
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
            dir: Some(dir),
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
        let dir = self.dir.take().expect("database folder");
        TestApp::spawn_config(config, dir).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A client that keeps cookies and does not follow redirects: a browser, for our purposes.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

fn write_empty_toml(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("identity.toml");
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
