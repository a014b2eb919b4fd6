//! The database over time: expired rows go away; an outage is a 503 that ends by itself.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use identity_backend::config::Mode;
use identity_backend::service::cleanup::clean;
use identity_backend::store::Db;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::helpers::{
    CLIENT_ID, CLIENT_SECRET, TEST_DATABASE_URL, TestApp, TestStorage, gateway_query, query_of,
};

async fn count(db: &Db, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    match db {
        Db::Sqlite(pool) => sqlx::query_scalar(&sql).fetch_one(pool).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar(&sql).fetch_one(pool).await.unwrap(),
    }
}

const TABLES: &[&str] = &[
    "authorization_codes",
    "sessions",
    "session_clients",
    "refresh_tokens",
    "revoked_tokens",
];

#[tokio::test]
async fn cleanup_removes_only_what_expired_and_may_run_everywhere_at_once() {
    let a = TestApp::spawn().await;
    let b = a.spawn_sibling().await;
    a.add_user("alice", "pw").await;
    let query = gateway_query("").replace("scope=openid", "scope=openid%20offline_access");
    let to = a.sign_in(&a.client, &query, "alice", "pw").await;
    let tokens: serde_json::Value = a.redeem(&query_of(&to)["code"]).await.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let revoke = [
        ("token", access),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ];
    assert_eq!(a.post_form("/revoke", &revoke).await.status(), 200);
    for table in TABLES {
        assert!(count(&a.state.db, table).await > 0, "{table} has a row");
    }

    let users = count(&a.state.db, "users").await;
    let removed = clean(&a.state).await.unwrap();
    assert_eq!(removed.total(), 0, "nothing live is removed: {removed:?}");

    // A month later everything above has expired; both instances clean at the same moment.
    for app in [&a, &b] {
        app.clock.advance(Duration::from_secs(31 * 24 * 3600));
    }
    let (ra, rb) = tokio::join!(clean(&a.state), clean(&b.state));
    let total = ra.unwrap().total() + rb.unwrap().total();
    assert!(total >= TABLES.len() as u64, "{total}");
    for table in TABLES {
        assert_eq!(count(&a.state.db, table).await, 0, "{table} is empty");
    }
    assert_eq!(count(&a.state.db, "users").await, users, "users stay");
}

/// A TCP relay to the database that can be cut and restored, as when the database restarts.
struct Relay {
    port: u16,
    upstream: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    async fn start(upstream: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let relay = Relay {
            port,
            upstream,
            tasks: Arc::default(),
        };
        relay.serve(listener);
        relay
    }

    fn serve(&self, listener: TcpListener) {
        let (upstream, tasks) = (self.upstream.clone(), self.tasks.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(pipe);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// Closes every connection and stops listening: the database is "down".
    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Listens again on the same port: the database is "back".
    async fn restore(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }
}

/// A code redemption: it needs the database whatever is cached (the code is consumed there).
/// 400 `invalid_grant` while the database answers (no such code), 503 when it does not.
async fn redeem_unknown_code(app: &TestApp) -> reqwest::Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", "no-such-code-Kx8vQ2mZ7pL4wN9rT3yB6c"),
        ("redirect_uri", crate::helpers::REDIRECT_URI),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ];
    app.post_form("/token", &form).await
}

#[tokio::test]
async fn a_lost_database_is_a_503_and_the_service_recovers_by_itself() {
    if std::env::var(TEST_DATABASE_URL).is_err() {
        eprintln!("note: the outage test runs in the PostgreSQL pass (TEST_DATABASE_URL)");
        return;
    }
    let storage = TestStorage::new().await;
    let mut url = url::Url::parse(&storage.database_url).unwrap();
    let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let relay = Relay::start(upstream).await;
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(relay.port)).unwrap();
    let app = TestApp::spawn_on_storage(
        storage,
        Mode::Development,
        &[
            ("DATABASE_URL", url.as_str()),
            ("DATABASE_STATEMENT_TIMEOUT_MS", "1000"),
        ],
    )
    .await;
    assert_eq!(redeem_unknown_code(&app).await.status(), 400);
    let token = app.test_token("").await;

    relay.cut();
    // Verification needs no database: keys and revocations are in memory.
    let (status, body) = app
        .verify(&serde_json::json!({ "token": token, "aud": "logging-service" }))
        .await;
    assert_eq!(status, 200, "/verify answers through the outage: {body}");
    for _ in 0..3 {
        let response = redeem_unknown_code(&app).await;
        assert_eq!(response.status(), 503);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "temporarily_unavailable");
    }
    assert_eq!(
        app.get("/ping").await.status(),
        200,
        "liveness does not need the database"
    );

    relay.restore().await;
    let mut recovered = false;
    for _ in 0..50 {
        if redeem_unknown_code(&app).await.status() == 400 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "back without a restart");
}

#[tokio::test]
async fn postgres_connections_can_require_tls() {
    if std::env::var(TEST_DATABASE_URL).is_err() {
        eprintln!("note: the TLS test runs in the PostgreSQL pass (TEST_DATABASE_URL)");
        return;
    }
    let storage = TestStorage::new().await;
    let mut url = url::Url::parse(&storage.database_url).unwrap();
    url.query_pairs_mut().append_pair("sslmode", "require");
    let app = TestApp::spawn_on_storage(
        storage,
        Mode::Development,
        &[("DATABASE_URL", url.as_str())],
    )
    .await;
    let Db::Postgres(pool) = &app.state.db else {
        panic!("PostgreSQL")
    };
    let encrypted: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(pool)
            .await
            .unwrap();
    assert!(encrypted, "the connection is TLS");
    assert_eq!(app.get("/ready").await.status(), 200);
}
