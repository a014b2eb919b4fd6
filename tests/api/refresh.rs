//! Refresh tokens: issued with offline_access, rotated on every use, reuse revokes the family,
//! a retry within the grace window gets the same new token.

use std::time::Duration;

use identity_backend::service::admin::{AccountState, remove_client, set_account_state};
use serde_json::Value;

use crate::helpers::{
    CLIENT_ID, CLIENT_SECRET, TestApp, claims_of, client_spec, gateway_query, location, query_of,
};

async fn signed_in_tokens(app: &TestApp, scope: &str) -> Value {
    app.add_user("alice", "pw").await;
    let query = gateway_query("").replace(
        "scope=openid",
        &format!("scope={}", scope.replace(' ', "%20")),
    );
    let page = app
        .authorize(&app.client, &query)
        .await
        .text()
        .await
        .unwrap();
    let to = location(&app.submit_login(&app.client, &page, "alice", "pw").await);
    let code = query_of(&to).remove("code").unwrap();
    let response = app.redeem(&code).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn refresh(app: &TestApp, token: &str, scope: Option<&str>) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", token),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let response = app
        .client
        .post(app.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn offline_access_brings_a_refresh_token_and_nothing_else_does() {
    let app = TestApp::spawn().await;
    let tokens = signed_in_tokens(&app, "openid").await;
    assert!(
        tokens.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );
    let app = TestApp::spawn().await;
    let tokens = signed_in_tokens(&app, "openid offline_access").await;
    assert_eq!(tokens["refresh_token"].as_str().map(str::len), Some(43));
}

#[tokio::test]
async fn rotation_reuse_and_the_grace_window() {
    let app = TestApp::spawn().await;
    let tokens = signed_in_tokens(&app, "openid email offline_access").await;
    let first = tokens["refresh_token"].as_str().unwrap().to_owned();

    let (status, body) = refresh(&app, &first, None).await;
    assert_eq!(status, 200, "{body}");
    let second = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first, "rotated on use");
    assert!(body.get("id_token").is_none());
    let access = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(access["scope"], "email offline_access openid");
    assert_eq!(
        access["sub"],
        claims_of(tokens["id_token"].as_str().unwrap())["sub"]
    );

    // A retry of the same request within the grace window: the same new token, no revocation.
    app.clock.advance(Duration::from_secs(5));
    let (status, retry) = refresh(&app, &first, None).await;
    assert_eq!(status, 200, "{retry}");
    assert_eq!(retry["refresh_token"].as_str(), Some(second.as_str()));

    // The chain goes on.
    let (status, body) = refresh(&app, &second, None).await;
    assert_eq!(status, 200);
    let third = body["refresh_token"].as_str().unwrap().to_owned();

    // Reuse of an old token after the window: the whole family is revoked.
    app.clock.advance(Duration::from_secs(11));
    let (status, body) = refresh(&app, &first, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = refresh(&app, &third, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the newest token died with its family"
    );
}

#[tokio::test]
async fn scope_may_narrow_but_not_widen() {
    let app = TestApp::spawn().await;
    let tokens = signed_in_tokens(&app, "openid email offline_access").await;
    let token = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = refresh(&app, &token, Some("openid profile")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, body) = refresh(&app, &token, Some("openid")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims_of(body["access_token"].as_str().unwrap())["scope"],
        "openid"
    );
    // Narrowing once does not shrink what the chain was granted.
    let (_, body) = refresh(&app, body["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(body["scope"], "email offline_access openid");
}

#[tokio::test]
async fn disabled_users_removed_clients_and_revocation_stop_refreshing() {
    let app = TestApp::spawn().await;
    let tokens = signed_in_tokens(&app, "openid offline_access").await;
    let token = tokens["refresh_token"].as_str().unwrap().to_owned();
    set_account_state(&app.state.db, &app.clock, "alice", AccountState::Disabled)
        .await
        .unwrap();
    assert_eq!(
        refresh(&app, &token, None).await.1["error"],
        "invalid_grant"
    );
    set_account_state(&app.state.db, &app.clock, "alice", AccountState::Enabled)
        .await
        .unwrap();
    let (status, body) = refresh(&app, &token, None).await;
    assert_eq!(status, 200, "enabled again: {body}");
    let next = body["refresh_token"].as_str().unwrap().to_owned();

    let revoke = app
        .client
        .post(app.url("/revoke"))
        .form(&[
            ("token", next.as_str()),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 200);
    assert_eq!(
        refresh(&app, &next, None).await.1["error"],
        "invalid_grant",
        "revoked via /revoke"
    );

    let app = TestApp::spawn().await;
    let tokens = signed_in_tokens(&app, "openid offline_access").await;
    remove_client(&app.state.db, CLIENT_ID).await.unwrap();
    let (status, body) = refresh(&app, tokens["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
}

#[tokio::test]
async fn a_refresh_token_works_only_for_its_client() {
    let app = TestApp::spawn().await;
    let tokens = signed_in_tokens(&app, "openid offline_access").await;
    let spec = identity_backend::service::admin::ClientSpec {
        redirect_uris: vec!["http://localhost:6000/cb".into()],
        secret: Some(identity_backend::crypto::SecretString::new(
            "other-Kx8vQ2mZ7pL4wN9rT3yB6cF1hJ5sD0gA",
        )),
        ..client_spec("other")
    };
    identity_backend::service::admin::add_client(
        &app.state.db,
        &app.clock,
        &app.state.config,
        spec,
    )
    .await
    .unwrap();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ("client_id", "other"),
        ("client_secret", "other-Kx8vQ2mZ7pL4wN9rT3yB6cF1hJ5sD0gA"),
    ];
    let response = app
        .client
        .post(app.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    // The rightful client still can.
    assert_eq!(
        refresh(&app, tokens["refresh_token"].as_str().unwrap(), None)
            .await
            .0,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_refreshes_get_the_same_new_token() {
    let app = TestApp::spawn().await;
    let tokens = signed_in_tokens(&app, "openid offline_access").await;
    let token = tokens["refresh_token"].as_str().unwrap().to_owned();
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let (client, url, token) = (app.client.clone(), app.url("/token"), token.clone());
        racers.spawn(async move {
            let form = [
                ("grant_type", "refresh_token"),
                ("refresh_token", token.as_str()),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ];
            let body: Value = client
                .post(url)
                .form(&form)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["refresh_token"].as_str().map(str::to_owned)
        });
    }
    let results = racers.join_all().await;
    let issued: Vec<&String> = results.iter().flatten().collect();
    assert!(!issued.is_empty(), "{results:?}");
    assert!(
        issued.iter().all(|t| *t == issued[0]),
        "one successor for every racer: {results:?}"
    );
    let (status, _) = refresh(&app, issued[0], None).await;
    assert_eq!(status, 200, "the family was not revoked");
}
