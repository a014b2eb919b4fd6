use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use identity_backend::config::Mode;
use identity_backend::crypto::SigningKey;
use identity_backend::crypto::jwt::{self, Signer, TokenType};
use serde_json::{Value, json};

use crate::helpers::{DEV_ISSUER, TestApp, claims_of, header_of};

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// Signs `claims` with the app's own active key: a token that differs from a real one only
/// in what the test chose.
fn sign_with_app_key(app: &TestApp, claims: &Value) -> String {
    let keys = app.state.keys.current();
    jwt::sign(Signer::Key(keys.active()), TokenType::Jwt, claims).unwrap()
}

fn claims(app: &TestApp, overrides: Value) -> Value {
    let mut base = json!({
        "iss": DEV_ISSUER, "sub": "svc", "aud": "logging-service",
        "iat": app.start, "exp": app.start + 600, "jti": "j1",
    });
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

#[tokio::test]
async fn a_valid_token_returns_its_claims() {
    let app = TestApp::spawn().await;
    let token = app.test_token("").await;
    let (status, body) = app.verify(&json!({ "token": token })).await;
    assert_eq!(status, 200);
    assert_eq!(body["valid"], true);
    assert_eq!(body["claims"], claims_of(&token));
    assert_eq!(body["claims"]["sub"], "testuser");

    let (status, body) = app
        .verify(&json!({ "token": token, "aud": "logging-service" }))
        .await;
    assert_eq!((status, body["valid"].clone()), (200, Value::Bool(true)));
}

#[tokio::test]
async fn accepts_a_form_body_and_unlabelled_json() {
    let app = TestApp::spawn().await;
    let token = app.test_token("").await;
    let form = app
        .client
        .post(app.url("/verify"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    // `curl -d '{"token": …}'` labels JSON as a form.
    let curl_style = app
        .client
        .post(app.url("/verify"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(json!({ "token": token }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(curl_style.status(), 200);
}

#[tokio::test]
async fn wrong_audience_issuer_and_expiry_use_the_flask_error_strings() {
    let app = TestApp::spawn().await;
    let token = app.test_token("").await;
    let (status, body) = app
        .verify(&json!({ "token": token, "aud": "careergpt-backend" }))
        .await;
    assert_eq!(
        (status, body),
        (401, json!({ "valid": false, "error": "Invalid audience" }))
    );

    let foreign_issuer = sign_with_app_key(
        &app,
        &claims(&app, json!({ "iss": "https://evil.example.com" })),
    );
    let (status, body) = app.verify(&json!({ "token": foreign_issuer })).await;
    assert_eq!(
        (status, body),
        (401, json!({ "valid": false, "error": "Invalid issuer" }))
    );

    // Valid for 30 minutes; the default skew leeway is 30 s.
    app.clock.advance(Duration::from_secs(30 * 60 + 20));
    let (status, _) = app.verify(&json!({ "token": token })).await;
    assert_eq!(status, 200, "within the clock-skew leeway");
    app.clock.advance(Duration::from_secs(11));
    let (status, body) = app.verify(&json!({ "token": token })).await;
    assert_eq!(
        (status, body),
        (401, json!({ "valid": false, "error": "Token expired" }))
    );
}

#[tokio::test]
async fn clock_skew_is_configurable() {
    let app = TestApp::spawn_with(Mode::Development, &[("CLOCK_SKEW_SECONDS", "0")]).await;
    let token = sign_with_app_key(&app, &claims(&app, json!({ "exp": app.start + 10 })));
    app.clock.advance(Duration::from_secs(11));
    let (_, body) = app.verify(&json!({ "token": token })).await;
    assert_eq!(body["error"], "Token expired");

    let early = sign_with_app_key(
        &app,
        &claims(
            &app,
            json!({ "nbf": app.start + 600, "exp": app.start + 1200 }),
        ),
    );
    let (status, body) = app.verify(&json!({ "token": early })).await;
    assert_eq!(
        (status, body["error"].clone()),
        (401, json!("Invalid token")),
        "not valid before nbf"
    );
}

#[tokio::test]
async fn forged_tokens_are_invalid() {
    let app = TestApp::spawn().await;
    let genuine = app.test_token("").await;
    let kid = header_of(&genuine)["kid"].as_str().unwrap().to_owned();
    let payload = b64(&claims(&app, json!({})));

    // alg: none, with and without a signature.
    let none = format!(
        "{}.{payload}.",
        b64(&json!({ "alg": "none", "typ": "JWT" }))
    );
    let none_kid = format!("{}.{payload}.", b64(&json!({ "alg": "none", "kid": kid })));

    // Another key entirely, claiming our kid.
    let (other, _) = SigningKey::generate_rs256().unwrap();
    let other_token = jwt::sign(
        Signer::Key(&other),
        TokenType::Jwt,
        &claims(&app, json!({})),
    )
    .unwrap();
    let mut parts: Vec<String> = other_token.split('.').map(str::to_owned).collect();
    parts[0] = b64(&json!({ "alg": "RS256", "typ": "JWT", "kid": kid }));
    let wrong_key_our_kid = parts.join(".");

    // HS256 with our published public key as the HMAC secret (algorithm confusion).
    let jwks: Value = app.get("/jwks.json").await.json().await.unwrap();
    let public_jwk = jwks["keys"][0].to_string();
    let mut confused = Vec::new();
    for header in [
        json!({ "alg": "HS256", "kid": kid }),
        json!({ "alg": "HS256" }),
    ] {
        let input = format!("{}.{payload}", b64(&header));
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, public_jwk.as_bytes());
        let mac = aws_lc_rs::hmac::sign(&key, input.as_bytes());
        confused.push(format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref())));
    }

    // A genuine token with its payload swapped.
    let mut tampered: Vec<String> = genuine.split('.').map(str::to_owned).collect();
    tampered[1] = b64(&claims(&app, json!({ "sub": "admin" })));
    let tampered = tampered.join(".");

    // Keys offered inside the token are never used.
    let jku = format!(
        "{}.{payload}.{}",
        b64(&json!({ "alg": "RS256", "kid": kid, "jku": "https://evil.example.com/jwks" })),
        genuine.split('.').nth(2).unwrap()
    );

    let mut forged = vec![
        none,
        none_kid,
        wrong_key_our_kid,
        tampered,
        jku,
        "not-a-jwt".into(),
        "a.b.c".into(),
    ];
    forged.extend(confused);
    for token in forged {
        let (status, body) = app.verify(&json!({ "token": token })).await;
        assert_eq!(
            (status, body),
            (401, json!({ "valid": false, "error": "Invalid token" })),
            "{token}"
        );
    }
}

#[tokio::test]
async fn bad_requests_get_clear_errors() {
    let app = TestApp::spawn().await;
    for body in [
        json!({}),
        json!({ "token": "" }),
        json!({ "token": null }),
        json!({ "aud": "x" }),
    ] {
        let (status, reply) = app.verify(&body).await;
        assert_eq!(
            (status, reply),
            (400, json!({ "error": "Missing token" })),
            "{body}"
        );
    }

    let malformed = app
        .client
        .post(app.url("/verify"))
        .header("content-type", "application/json")
        .body("{\"token\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let reply: Value = malformed.json().await.unwrap();
    assert_eq!(reply["error"], "invalid_request");

    let (status, reply) = app.verify(&json!({ "token": 42 })).await;
    assert_eq!(
        (status, reply["error"].clone()),
        (400, json!("invalid_request"))
    );
    let (status, reply) = app.verify(&json!({ "token": "a.b.c", "aud": ["x"] })).await;
    assert_eq!(
        (status, reply["error"].clone()),
        (400, json!("invalid_request"))
    );

    let huge = app
        .post_json("/verify", &json!({ "token": "a".repeat(1024 * 1024) }))
        .await;
    assert_eq!(huge.status(), 413, "a 1 MB body is refused");

    let long_token = "a".repeat(16 * 1024);
    let (status, reply) = app.verify(&json!({ "token": long_token })).await;
    assert_eq!(
        (status, reply["error"].clone()),
        (401, json!("Invalid token"))
    );

    let get = app.get("/verify").await;
    assert_eq!(get.status(), 405);
}

#[tokio::test]
async fn shared_secret_audiences_get_hs256_tokens_that_verify() {
    let secret = "shared-secret-of-the-logging-service-0123456789";
    let app = TestApp::spawn_with(
        Mode::Development,
        &[
            ("JWT_SECRET_KEY", secret),
            ("LOGGING_BACKEND_AUD", "logging-service"),
        ],
    )
    .await;
    let token = app.test_token("").await;
    let header = header_of(&token);
    assert_eq!(header["alg"], "HS256");
    assert!(header.get("kid").is_none());

    // Verified the way the existing logging-backend does (PyJWT, HS256, the shared secret).
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_audience(&["logging-service"]);
    validation.validate_exp = false;
    let key = jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()).unwrap();
    let decoded = jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();
    assert_eq!(decoded.claims["sub"], "testuser");

    let (status, _) = app
        .verify(&json!({ "token": token, "aud": "logging-service" }))
        .await;
    assert_eq!(status, 200);

    let rs = app.test_token("?aud=careergpt-backend").await;
    assert_eq!(header_of(&rs)["alg"], "RS256", "other audiences stay RS256");
}
