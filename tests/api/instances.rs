//! Several instances on one database (behind a load balancer): nothing depends on which
//! instance a request lands on. In the PostgreSQL pass this is the deployment of
//! docs/scaling.md; in the SQLite pass, two servers on one file.

use std::time::Duration;

use identity_backend::service::keys;
use serde_json::Value;

use crate::helpers::{
    CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, TestApp, claims_of, gateway_query, header_of, location,
    query_of,
};

/// A code for alice from `app`: signing in if the browser is not yet.
async fn code_at(app: &TestApp, scope: &str) -> String {
    let query = gateway_query("").replace("scope=openid", &format!("scope={scope}"));
    let answer = app.authorize(&app.client, &query).await;
    let to = if answer.status() == 302 {
        location(&answer)
    } else {
        let page = answer.text().await.unwrap();
        location(&app.submit_login(&app.client, &page, "alice", "pw").await)
    };
    query_of(&to).remove("code").expect("a code")
}

async fn redeem_at(app: &TestApp, code: &str) -> (u16, Value) {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("redirect_uri", REDIRECT_URI),
    ];
    let response = app.post_form("/token", &form).await;
    (response.status().as_u16(), response.json().await.unwrap())
}

fn as_client<'a>(mut form: Vec<(&'a str, &'a str)>) -> Vec<(&'a str, &'a str)> {
    form.push(("client_id", CLIENT_ID));
    form.push(("client_secret", CLIENT_SECRET));
    form
}

async fn active_at(app: &TestApp, token: &str) -> bool {
    let form = as_client(vec![("token", token)]);
    let body: Value = app
        .post_form("/introspect", &form)
        .await
        .json()
        .await
        .unwrap();
    body["active"].as_bool().unwrap()
}

#[tokio::test]
async fn a_sign_in_at_one_instance_carries_on_at_the_other() {
    let a = TestApp::spawn().await;
    let b = a.spawn_sibling().await;
    a.add_user("alice", "pw").await;

    let code = code_at(&a, "openid%20offline_access").await;
    let (status, tokens) = redeem_at(&b, &code).await;
    assert_eq!(status, 200, "A's code redeems at B: {tokens}");
    let refresh = tokens["refresh_token"].as_str().unwrap();

    let form = as_client(vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh),
    ]);
    let refreshed: Value = a.post_form("/token", &form).await.json().await.unwrap();
    let access = refreshed["access_token"].as_str().expect("refreshed at A");
    assert!(active_at(&a, access).await);
    assert!(active_at(&b, access).await);

    let revoked = b
        .post_form("/revoke", &as_client(vec![("token", access)]))
        .await;
    assert_eq!(revoked.status(), 200);
    assert!(
        !active_at(&b, access).await,
        "revoked at B: inactive there at once"
    );
    // A holds revocations in memory and reads B's from the database every SYNC_INTERVAL (1 s):
    // inactive at A within it (the loop allows five times that on a loaded machine).
    let mut inactive_at_a = false;
    for _ in 0..50 {
        if !active_at(&a, access).await {
            inactive_at_a = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        inactive_at_a,
        "revoked at B, inactive at A within the sync interval"
    );
    let (status, _) = a
        .verify(&serde_json::json!({ "token": access, "aud": CLIENT_ID }))
        .await;
    assert_eq!(status, 401, "and /verify at A agrees");

    // The rotated-out refresh token is refused at B too (a reuse, after the grace window).
    b.clock.advance(Duration::from_secs(3600));
    let form = as_client(vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh),
    ]);
    assert_eq!(b.post_form("/token", &form).await.status(), 400);
}

#[tokio::test]
async fn a_code_redeemed_at_both_instances_at_once_works_once() {
    let a = TestApp::spawn().await;
    let b = a.spawn_sibling().await;
    a.add_user("alice", "pw").await;
    for _ in 0..5 {
        let code = code_at(&a, "openid").await;
        let (at_a, at_b) = tokio::join!(redeem_at(&a, &code), redeem_at(&b, &code));
        let mut statuses = [at_a.0, at_b.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 400], "{at_a:?} {at_b:?}");
        let loser = if at_a.0 == 400 { at_a.1 } else { at_b.1 };
        assert_eq!(loser["error"], "invalid_grant");
    }
}

#[tokio::test]
async fn a_key_rotated_at_one_instance_is_published_then_used_by_the_other() {
    let a = TestApp::spawn_with(
        identity_backend::config::Mode::Development,
        &[("KEYS_RELOAD_SECONDS", "1")],
    )
    .await;
    let b = a.spawn_sibling().await;
    let before = header_of(&b.test_token("").await)["kid"].clone();
    let rotation = keys::rotate(
        &a.state.db,
        &a.clock,
        &a.state.config,
        keys::Activation::Scheduled,
    )
    .await
    .unwrap()
    .remove(0);

    // Within KEYS_RELOAD_SECONDS (1 s here; 30 s by default) B publishes it, not signing yet.
    let mut published = false;
    for _ in 0..50 {
        let jwks: Value = b.get("/jwks.json").await.json().await.unwrap();
        if jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == rotation.kid.as_str())
        {
            published = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published, "B publishes the next key without a restart");
    assert_eq!(header_of(&b.test_token("").await)["kid"], before);

    // After the pre-publication time, B signs with it within one more reload.
    let wait = Duration::from_secs(u64::try_from(keys::prepublication(&b.state.config)).unwrap());
    a.clock.advance(wait);
    b.clock.advance(wait);
    let mut switched = false;
    for _ in 0..50 {
        let token = b.test_token("").await;
        if header_of(&token)["kid"] == rotation.kid.as_str() {
            // A token B signed verifies at A.
            let (status, body) = a.verify(&serde_json::json!({ "token": token })).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(claims_of(&token)["iss"], body["claims"]["iss"]);
            switched = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(switched, "B signs with the rotated key");
}

#[tokio::test]
async fn a_session_from_one_instance_is_known_to_the_other() {
    let a = TestApp::spawn().await;
    let b = a.spawn_sibling().await;
    a.add_user("alice", "pw").await;
    code_at(&a, "openid").await;
    let sso = b.authorize(&a.client, &gateway_query("")).await;
    assert_eq!(sso.status(), 302);
    assert!(query_of(&location(&sso)).contains_key("code"));
}
