use identity_backend::config::Mode;
use serde_json::Value;

use crate::helpers::TestApp;

async fn document(app: &TestApp, path: &str) -> Value {
    let response = app
        .client
        .get(app.url(path))
        .header("Host", "evil.example.com")
        .header("X-Forwarded-Host", "evil.example.com")
        .header("X-Forwarded-Proto", "http")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    response.json().await.unwrap()
}

#[tokio::test]
async fn every_url_derives_from_the_configured_issuer_never_the_host_header() {
    let app = TestApp::spawn_with(
        Mode::Production,
        &[("JWT_ISSUER", "https://example.com/identity-backend/")],
    )
    .await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let doc = document(&app, path).await;
        assert_eq!(doc["issuer"], "https://example.com/identity-backend");
        assert_eq!(
            doc["jwks_uri"],
            "https://example.com/identity-backend/jwks.json"
        );
        assert_eq!(
            doc["authorization_endpoint"],
            "https://example.com/identity-backend/authorize"
        );
        assert_eq!(
            doc["token_endpoint"],
            "https://example.com/identity-backend/token"
        );
        assert!(!doc.to_string().contains("evil.example.com"));
    }
}

#[tokio::test]
async fn advertises_what_the_service_does_and_only_that() {
    let app = TestApp::spawn().await;
    let doc = document(&app, "/.well-known/openid-configuration").await;
    // OIDC Discovery §3 REQUIRED members.
    for member in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
    ] {
        assert!(doc.get(member).is_some(), "{member} missing");
    }
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256", "ES256", "EdDSA"]),
        "RS256 first: the default, and what clients must support"
    );
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    let algs = doc["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(
        !algs.iter().any(|a| a == "none"),
        "never advertise alg none"
    );
    for implicit in ["token", "id_token", "code id_token"] {
        assert!(
            !doc["response_types_supported"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == implicit)
        );
    }
}

#[tokio::test]
async fn every_published_endpoint_answers_at_its_published_url() {
    let app = TestApp::spawn_with_real_issuer(&[]).await;
    let doc: Value = app
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], app.address);
    let jwks = app
        .client
        .get(doc["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.status(), 200);
    // Without credentials each endpoint answers with its own error, never 404 or 5xx.
    for (member, expected) in [("token_endpoint", 401), ("userinfo_endpoint", 401)] {
        let url = doc[member].as_str().unwrap();
        let status = app
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), expected, "{member}");
    }
    let authorize = app
        .client
        .get(doc["authorization_endpoint"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        authorize.status(),
        400,
        "an error page for a request without a client"
    );
}
