//! Brute force and abuse: sign-in lockout (per account and per IP, shared by instances) and
//! per-IP request rate limits.

use std::time::Duration;

use identity_backend::config::Mode;
use reqwest::Response;

use crate::helpers::{TestApp, browser, gateway_query};

const LOCKED: &str = "Too many failed sign-ins";
const FAILED: &str = "The username or password is not correct.";

/// One sign-in attempt in a fresh browser: (status, page or redirect).
async fn attempt(app: &TestApp, username: &str, password: &str) -> (u16, String) {
    let browser = browser();
    let page = app.authorize(&browser, &gateway_query("")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let response: Response = app.submit_login(&browser, &html, username, password).await;
    let status = response.status().as_u16();
    let text = match response.headers().get("location") {
        Some(to) => to.to_str().unwrap().to_owned(),
        None => response.text().await.unwrap(),
    };
    (status, text)
}

#[tokio::test]
async fn an_account_is_locked_after_failures_and_unlocks_after_the_lock() {
    let app = TestApp::spawn_with(
        Mode::Development,
        &[("LOGIN_MAX_FAILURES", "3"), ("LOGIN_LOCK_MINUTES", "1")],
    )
    .await;
    app.add_user("alice", "right-pw").await;
    for _ in 0..3 {
        let (status, page) = attempt(&app, "alice", "wrong").await;
        assert_eq!(status, 401);
        assert!(page.contains(FAILED));
    }
    let (status, page) = attempt(&app, "alice", "right-pw").await;
    assert_eq!(status, 429, "even the right password waits");
    assert!(page.contains(LOCKED));
    // Another instance sees the same lock (the counters are in the database).
    let b = app.spawn_sibling().await;
    assert_eq!(
        attempt(&b, "ALICE", "right-pw").await.0,
        429,
        "names are case-blind"
    );

    app.clock.advance(Duration::from_secs(61));
    let (status, to) = attempt(&app, "alice", "right-pw").await;
    assert_eq!(status, 303, "{to}");
    assert!(to.contains("code="));

    // A success clears the account's count: three more failures are needed for a new lock,
    // and it is twice as long only if they come before the record is forgotten.
    assert_eq!(attempt(&app, "alice", "wrong").await.0, 401);
    assert_eq!(attempt(&app, "alice", "right-pw").await.0, 303);
}

#[tokio::test]
async fn a_lock_says_nothing_about_whether_the_account_exists() {
    let app = TestApp::spawn_with(Mode::Development, &[("LOGIN_MAX_FAILURES", "2")]).await;
    app.add_user("alice", "right-pw").await;
    for name in ["alice", "nobody"] {
        for _ in 0..2 {
            assert_eq!(attempt(&app, name, "wrong").await.0, 401);
        }
    }
    let (real, real_page) = attempt(&app, "alice", "x").await;
    let (ghost, ghost_page) = attempt(&app, "nobody", "x").await;
    assert_eq!((real, ghost), (429, 429));
    assert!(real_page.contains(LOCKED) && ghost_page.contains(LOCKED));
}

#[tokio::test]
async fn repeated_locks_grow_and_user_unlock_ends_one() {
    let app = TestApp::spawn_with(
        Mode::Development,
        &[("LOGIN_MAX_FAILURES", "2"), ("LOGIN_LOCK_MINUTES", "1")],
    )
    .await;
    app.add_user("alice", "right-pw").await;
    for _ in 0..2 {
        attempt(&app, "alice", "wrong").await;
    }
    app.clock.advance(Duration::from_secs(61));
    assert_eq!(attempt(&app, "alice", "wrong").await.0, 401, "lock over");
    // The third failure locks for two minutes: one is not enough.
    app.clock.advance(Duration::from_secs(61));
    assert_eq!(attempt(&app, "alice", "right-pw").await.0, 429);

    let unlocked = identity_backend::service::throttle::unlock(&app.state.db, "Alice")
        .await
        .unwrap();
    assert!(unlocked);
    assert_eq!(
        attempt(&app, "alice", "right-pw").await.0,
        303,
        "the operator unlocked it"
    );
}

#[tokio::test]
async fn an_address_trying_many_accounts_is_locked_out() {
    let app = TestApp::spawn_with(
        Mode::Development,
        &[
            ("LOGIN_MAX_FAILURES", "100"),
            ("LOGIN_MAX_FAILURES_PER_IP", "4"),
        ],
    )
    .await;
    app.add_user("alice", "right-pw").await;
    for name in ["a1", "a2", "a3", "a4"] {
        assert_eq!(attempt(&app, name, "guess").await.0, 401);
    }
    assert_eq!(
        attempt(&app, "alice", "right-pw").await.0,
        429,
        "this address is locked"
    );
}

async fn token_status(app: &TestApp, forwarded_for: Option<&str>) -> Response {
    let mut request = app
        .client
        .post(app.url("/token"))
        .form(&[("grant_type", "client_credentials")]);
    if let Some(ip) = forwarded_for {
        request = request.header("x-forwarded-for", ip);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn the_token_endpoint_is_rate_limited_per_client_ip() {
    let app = TestApp::spawn_with(
        Mode::Development,
        &[
            ("RATE_LIMIT_TOKEN_PER_MINUTE", "5"),
            ("TRUSTED_PROXIES", "127.0.0.1"),
        ],
    )
    .await;
    for _ in 0..5 {
        assert_eq!(
            token_status(&app, None).await.status(),
            401,
            "unauthenticated"
        );
    }
    let limited = token_status(&app, None).await;
    assert_eq!(limited.status(), 429);
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: serde_json::Value = limited.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");

    // Behind the trusted proxy, another client has its own allowance...
    assert_eq!(token_status(&app, Some("198.51.100.7")).await.status(), 401);
    // ...and other routes are not affected.
    assert_eq!(app.get("/jwks.json").await.status(), 200);
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = TestApp::spawn_with(Mode::Development, &[("RATE_LIMIT_TOKEN_PER_MINUTE", "2")]).await;
    for ip in ["198.51.100.1", "198.51.100.2"] {
        assert_eq!(token_status(&app, Some(ip)).await.status(), 401);
    }
    assert_eq!(
        token_status(&app, Some("198.51.100.3")).await.status(),
        429,
        "a spoofed header does not buy a new allowance"
    );
}

#[tokio::test]
async fn verify_and_login_have_limits_of_their_own() {
    let app = TestApp::spawn_with(
        Mode::Development,
        &[
            ("RATE_LIMIT_VERIFY_PER_MINUTE", "3"),
            ("RATE_LIMIT_LOGIN_PER_MINUTE", "2"),
        ],
    )
    .await;
    let token = app.test_token("").await;
    for _ in 0..3 {
        assert_eq!(
            app.verify(&serde_json::json!({ "token": token })).await.0,
            200
        );
    }
    assert_eq!(
        app.verify(&serde_json::json!({ "token": token })).await.0,
        429
    );

    for _ in 0..2 {
        assert_eq!(attempt(&app, "nobody", "x").await.0, 401);
    }
    assert_eq!(attempt(&app, "nobody", "x").await.0, 429);
}

#[tokio::test]
async fn a_failed_sign_in_shows_the_typed_name_escaped() {
    let app = TestApp::spawn().await;
    let name = "\"><img src=x onerror=alert(1)><script>alert(2)</script>";
    let (status, page) = attempt(&app, name, "x").await;
    assert_eq!(status, 401);
    assert!(
        !page.contains("<img src=x") && !page.contains("<script>"),
        "{page}"
    );
    assert!(
        page.contains("&#34;&#62;&#60;img src=x onerror=alert(1)&#62;"),
        "{page}"
    );
}
