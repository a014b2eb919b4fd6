//! What the database holds: SQLite settings, and nothing secret in clear.

use identity_backend::store::Db;

use crate::helpers::TestApp;

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_foreign_keys() {
    let app = TestApp::spawn_sqlite(identity_backend::config::Mode::Development, &[]).await;
    let Db::Sqlite(pool) = &app.state.db else {
        panic!("SQLite by default")
    };
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let (fk,): (i64,) = sqlx::query_as("PRAGMA foreign_keys")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(fk, 1);
    let (timeout,): (i64,) = sqlx::query_as("PRAGMA busy_timeout")
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(timeout >= 1000, "busy timeout {timeout} ms");
}

#[tokio::test]
async fn secrets_are_stored_only_as_hashes() {
    let app = TestApp::spawn_sqlite(
        identity_backend::config::Mode::Development,
        &[
            ("DEMO_USERNAME", "alice"),
            ("DEMO_PASSWORD", "alice-password-in-clear"),
        ],
    )
    .await;
    let Db::Sqlite(pool) = &app.state.db else {
        panic!("SQLite by default")
    };
    let (hash,): (String,) =
        sqlx::query_as("SELECT password_hash FROM users WHERE username = 'alice'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("alice-password-in-clear"));

    let (secret_hash,): (Option<String>,) =
        sqlx::query_as("SELECT secret_hash FROM clients WHERE client_id = 'browser-ui'")
            .fetch_one(pool)
            .await
            .unwrap();
    let secret_hash = secret_hash.unwrap();
    assert_ne!(secret_hash, "dev-client-secret");
    assert_eq!(
        secret_hash,
        identity_backend::crypto::digest::token_hash("dev-client-secret")
    );

    // The whole file, read as bytes, holds neither value in clear.
    let db_file = std::fs::read(
        app.state
            .config
            .database_url
            .expose()
            .trim_start_matches("sqlite://"),
    )
    .unwrap();
    let haystack = String::from_utf8_lossy(&db_file);
    assert!(!haystack.contains("alice-password-in-clear"));
    assert!(!haystack.contains("dev-client-secret"));
}

#[tokio::test]
async fn restart_updates_the_configured_demo_user_and_clients() {
    use identity_backend::crypto::SecretString;
    use identity_backend::service::admin::find_user;

    let app = TestApp::spawn_with(
        identity_backend::config::Mode::Development,
        &[
            ("DEMO_USERNAME", "alice"),
            ("DEMO_PASSWORD", "first-password"),
        ],
    )
    .await;
    let before = find_user(&app.state.db, "alice").await.unwrap();
    let again = app
        .restart_with(|config| {
            if let Some(demo) = config.demo_user.as_mut() {
                demo.password = Some(SecretString::new("second-password"));
            }
            config.clients[0].secret = SecretString::new("rotated-client-secret");
        })
        .await;
    let after = find_user(&again.state.db, "alice").await.unwrap();
    assert_eq!(before.id, after.id, "the subject is stable across restarts");
    let hasher = &again.state.hasher;
    assert!(
        hasher
            .verify(
                SecretString::new("second-password"),
                Some(after.password_hash.clone())
            )
            .await
            .unwrap()
    );
    assert!(
        !hasher
            .verify(
                SecretString::new("first-password"),
                Some(after.password_hash)
            )
            .await
            .unwrap()
    );

    let client = identity_backend::service::admin::show_client(&again.state.db, "browser-ui")
        .await
        .unwrap();
    let stored = client.secret_hash.unwrap();
    assert!(identity_backend::crypto::digest::token_hash_matches(
        &stored,
        "rotated-client-secret"
    ));
    assert_eq!(
        client.redirect_uris,
        vec!["http://localhost:5000/callback".to_owned()]
    );
}
