use identity_backend::config::Mode;
use serde_json::Value;

use crate::helpers::{DEV_ISSUER, TestApp, claims_of, header_of};

#[tokio::test]
async fn dev_mode_issues_the_documented_default_token() {
    let app = TestApp::spawn().await;
    let response = app.get("/test-token").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    let token = body["id_token"].as_str().unwrap();
    let claims = claims_of(token);
    assert_eq!(claims["sub"], "testuser");
    assert_eq!(claims["aud"], "logging-service");
    assert_eq!(claims["scope"], "openid");
    assert_eq!(claims["iss"], DEV_ISSUER);
    assert_eq!(claims["iat"], app.start);
    assert_eq!(claims["exp"], app.start + 30 * 60);
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
    assert_eq!(header_of(token)["alg"], "RS256");
}

#[tokio::test]
async fn query_parameters_override_the_defaults() {
    let app = TestApp::spawn().await;
    let token = app
        .test_token("?sub=careergpt-backend&aud=careergpt&scope=openid%20profile&ttl=5")
        .await;
    let claims = claims_of(&token);
    assert_eq!(claims["sub"], "careergpt-backend");
    assert_eq!(claims["aud"], "careergpt");
    assert_eq!(claims["scope"], "openid profile");
    assert_eq!(claims["exp"], app.start + 5 * 60);
}

#[tokio::test]
async fn bad_overrides_are_invalid_requests() {
    let app = TestApp::spawn().await;
    for query in [
        "?ttl=0",
        "?ttl=abc",
        "?ttl=100000",
        "?sub=",
        "?scope=a%22b",
        "?aud=%01",
    ] {
        let response = app.get(&format!("/test-token{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{query}");
    }
}

#[tokio::test]
async fn production_has_no_test_token() {
    let app = TestApp::spawn_with(Mode::Production, &[]).await;
    assert_eq!(app.get("/test-token").await.status(), 404);
}
