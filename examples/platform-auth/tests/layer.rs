//! `RequireBearer` and the `Claims` extractor in an axum router: the RFC 6750 answers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use axum::{Json, Router};
use common::{Issuer, SigningKey};
use platform_auth::{Claims, RequireBearer};
use serde_json::{Value, json};
use tower::ServiceExt;

fn app(issuer: &Issuer, scope: Option<&str>) -> Router {
    let mut layer = RequireBearer::new(issuer.verifier(Duration::from_secs(3600)));
    if let Some(scope) = scope {
        layer = layer.with_scope(scope);
    }
    Router::new()
        .route("/whoami", get(|claims: Claims| async move { Json(claims) }))
        .route_layer(layer)
        .route("/open", get(|| async { "open" }))
}

struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    body: Value,
}

async fn call(app: Router, path: &str, authorization: Option<&str>) -> Answer {
    let mut request = Request::get(path);
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    let response = app
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        challenge,
        body,
    }
}

#[tokio::test]
async fn a_valid_token_reaches_the_handler_with_its_claims() {
    let key = SigningKey::rsa("k");
    let issuer = Issuer::spawn().await;
    issuer.publish(&key);
    let token = key.sign(&issuer.claims());
    let answer = call(
        app(&issuer, Some("logs:write")),
        "/whoami",
        Some(&format!("Bearer {token}")),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["sub"], "careergpt-backend");
    assert_eq!(answer.body["iss"], json!(issuer.url));
}

#[tokio::test]
async fn no_token_gets_a_bare_challenge() {
    let issuer = Issuer::spawn().await;
    for authorization in [None, Some("Basic dXNlcjpwYXNz")] {
        let answer = call(app(&issuer, None), "/whoami", authorization).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.challenge.as_deref(), Some("Bearer"));
    }
    // Routes outside the layer are untouched.
    let open = call(app(&issuer, None), "/open", None).await;
    assert_eq!(open.status, StatusCode::OK);
}

#[tokio::test]
async fn a_bad_token_gets_invalid_token() {
    let key = SigningKey::rsa("k");
    let issuer = Issuer::spawn().await;
    issuer.publish(&key);
    let mut claims = issuer.claims();
    claims["exp"] = json!(common::now() - 3600);
    let expired = key.sign(&claims);
    let answer = call(
        app(&issuer, None),
        "/whoami",
        Some(&format!("Bearer {expired}")),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(r#"Bearer error="invalid_token", error_description="the token has expired""#)
    );
    assert_eq!(answer.body["error"], "invalid_token");
}

#[tokio::test]
async fn a_malformed_header_is_an_invalid_request() {
    let issuer = Issuer::spawn().await;
    let answer = call(app(&issuer, None), "/whoami", Some("Bearer a b")).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.body["error"], "invalid_request");
}

#[tokio::test]
async fn a_token_without_the_scope_is_forbidden() {
    let key = SigningKey::es256("k");
    let issuer = Issuer::spawn().await;
    issuer.publish(&key);
    let mut claims = issuer.claims();
    claims["scope"] = json!("openid");
    let token = key.sign(&claims);
    let answer = call(
        app(&issuer, Some("logs:write")),
        "/whoami",
        Some(&format!("Bearer {token}")),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let challenge = answer.challenge.unwrap();
    assert!(
        challenge.starts_with(r#"Bearer error="insufficient_scope""#),
        "{challenge}"
    );
    assert!(challenge.ends_with(r#"scope="logs:write""#), "{challenge}");
}

#[tokio::test]
async fn without_keys_the_answer_is_503_not_401() {
    let key = SigningKey::es256("k");
    let issuer = Issuer::spawn().await;
    issuer.publish(&key);
    issuer.set_down(true);
    let token = key.sign(&issuer.claims());
    let answer = call(
        app(&issuer, None),
        "/whoami",
        Some(&format!("Bearer {token}")),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.challenge, None);
}
