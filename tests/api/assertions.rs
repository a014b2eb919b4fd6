//! RFC 7523 `private_key_jwt` client authentication.

use identity_backend::crypto::SigningKey;
use identity_backend::crypto::jwt::{Signer, TokenType, sign};
use identity_backend::oidc::{AuthMethod, GrantType};
use identity_backend::service::admin::{ClientSpec, add_client};
use serde_json::{Value, json};

use crate::helpers::client_spec;
use crate::helpers::{DEV_ISSUER, TestApp};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A worker registered with its public key; returns the key to sign assertions with.
async fn worker(app: &TestApp) -> SigningKey {
    let (key, _) = SigningKey::generate_rs256().unwrap();
    let spec = ClientSpec {
        grant_types: vec![GrantType::ClientCredentials],
        audiences: vec!["logging-service".into()],
        auth_method: Some(AuthMethod::PrivateKeyJwt),
        jwks: Some(json!({ "keys": [key.public_jwk()] }).to_string()),
        ..client_spec("worker")
    };
    add_client(&app.state.db, &app.clock, &app.state.config, spec)
        .await
        .unwrap();
    key
}

fn assertion(key: &SigningKey, app: &TestApp, overrides: Value) -> String {
    let mut claims = json!({
        "iss": "worker", "sub": "worker", "aud": format!("{DEV_ISSUER}/token"),
        "iat": app.start, "exp": app.start + 60, "jti": format!("{}", app.clock.now()) + "-1",
    });
    for (k, v) in overrides.as_object().unwrap() {
        claims[k] = v.clone();
    }
    sign(Signer::Key(key), TokenType::Jwt, &claims).unwrap()
}

async fn token_with(app: &TestApp, assertion: &str) -> (u16, Value) {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ];
    let response = app
        .client
        .post(app.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_signed_assertion_authenticates_once() {
    let app = TestApp::spawn().await;
    let key = worker(&app).await;
    let signed = assertion(&key, &app, json!({ "jti": "a-1" }));
    let (status, body) = token_with(&app, &signed).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        crate::helpers::claims_of(body["access_token"].as_str().unwrap())["sub"],
        "worker"
    );

    let (status, body) = token_with(&app, &signed).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "a replayed assertion"
    );

    let issuer_audience = assertion(&key, &app, json!({ "jti": "a-2", "aud": DEV_ISSUER }));
    assert_eq!(
        token_with(&app, &issuer_audience).await.0,
        200,
        "aud may be the issuer"
    );
}

#[tokio::test]
async fn bad_assertions_are_invalid_client() {
    let app = TestApp::spawn().await;
    let key = worker(&app).await;
    let (stranger, _) = SigningKey::generate_rs256().unwrap();
    let cases = [
        (
            "expired",
            assertion(&key, &app, json!({ "jti": "b-1", "exp": app.start - 120 })),
        ),
        (
            "too long-lived",
            assertion(
                &key,
                &app,
                json!({ "jti": "b-2", "exp": app.start + 24 * 3600 }),
            ),
        ),
        (
            "wrong audience",
            assertion(
                &key,
                &app,
                json!({ "jti": "b-3", "aud": "https://elsewhere/token" }),
            ),
        ),
        (
            "iss differs",
            assertion(&key, &app, json!({ "jti": "b-4", "iss": "someone" })),
        ),
        ("no jti", {
            let claims = json!({ "iss": "worker", "sub": "worker", "aud": format!("{DEV_ISSUER}/token"), "exp": app.start + 60 });
            sign(Signer::Key(&key), TokenType::Jwt, &claims).unwrap()
        }),
        (
            "another key",
            assertion(&stranger, &app, json!({ "jti": "b-5" })),
        ),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (what, signed) in cases {
        let (status, body) = token_with(&app, &signed).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{what}"
        );
    }

    // A client registered for secrets cannot authenticate with an assertion.
    let form = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", JWT_BEARER),
        (
            "client_assertion",
            &assertion(
                &key,
                &app,
                json!({ "jti": "b-6", "iss": "browser-ui", "sub": "browser-ui" }),
            )[..],
        ),
    ];
    let response = app
        .client
        .post(app.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    let wrong_type = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", "urn:something:else"),
        (
            "client_assertion",
            &assertion(&key, &app, json!({ "jti": "b-7" }))[..],
        ),
    ];
    let response = app
        .client
        .post(app.url("/token"))
        .form(&wrong_type)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn registration_refuses_private_or_missing_keys() {
    let app = TestApp::spawn().await;
    let (key, _) = SigningKey::generate_rs256().unwrap();
    let spec = |jwks: Option<String>, method: AuthMethod| ClientSpec {
        grant_types: vec![GrantType::ClientCredentials],
        audiences: vec!["a".into()],
        auth_method: Some(method),
        jwks,
        ..client_spec("w")
    };
    let mut private = key.public_jwk().clone();
    private["d"] = json!("c2VjcmV0");
    for (jwks, method) in [
        (None, AuthMethod::PrivateKeyJwt),
        (Some("not json".to_owned()), AuthMethod::PrivateKeyJwt),
        (Some(private.to_string()), AuthMethod::PrivateKeyJwt),
        (
            Some(json!({ "kty": "oct", "k": "c2VjcmV0" }).to_string()),
            AuthMethod::PrivateKeyJwt,
        ),
        (
            Some(json!({ "keys": [] }).to_string()),
            AuthMethod::PrivateKeyJwt,
        ),
        (
            Some(key.public_jwk().to_string()),
            AuthMethod::ClientSecretBasic,
        ),
        (None, AuthMethod::ClientSecretJwt),
    ] {
        let result = add_client(
            &app.state.db,
            &app.clock,
            &app.state.config,
            spec(jwks.clone(), method),
        )
        .await;
        assert!(result.is_err(), "{jwks:?} {method:?}");
    }
    let single = add_client(
        &app.state.db,
        &app.clock,
        &app.state.config,
        spec(
            Some(key.public_jwk().to_string()),
            AuthMethod::PrivateKeyJwt,
        ),
    )
    .await;
    assert!(single.is_ok(), "a single JWK is accepted");
}

const SHARED: &str = "worker-shared-Kx8vQ2mZ7pL4wN9rT3yB6cF1hJ5sD0gA";

fn hs256(secret: &str, claims: &Value) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(json!({ "alg": "HS256", "typ": "JWT" }).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

fn shared_secret_worker(secret: Option<&str>) -> ClientSpec {
    ClientSpec {
        grant_types: vec![GrantType::ClientCredentials],
        audiences: vec!["logging-service".into()],
        auth_method: Some(AuthMethod::ClientSecretJwt),
        secret: secret.map(identity_backend::crypto::SecretString::new),
        ..client_spec("worker")
    }
}

#[tokio::test]
async fn a_worker_signs_its_assertion_with_the_shared_secret() {
    let app = TestApp::spawn_with(
        identity_backend::config::Mode::Development,
        &[(
            "KEY_ENCRYPTION_KEY",
            "sealing-key-Kx8vQ2mZ7pL4wN9rT3yB6cF1hJ5sD0gA",
        )],
    )
    .await;
    add_client(
        &app.state.db,
        &app.clock,
        &app.state.config,
        shared_secret_worker(Some(SHARED)),
    )
    .await
    .unwrap();
    let claims = |jti: &str| json!({ "iss": "worker", "sub": "worker", "aud": format!("{DEV_ISSUER}/token"), "exp": app.start + 60, "jti": jti });
    let (status, body) = token_with(&app, &hs256(SHARED, &claims("s-1"))).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = token_with(&app, &hs256(SHARED, &claims("s-1"))).await;
    assert_eq!(status, 401, "replayed");
    let (status, _) = token_with(
        &app,
        &hs256("not-the-secret-Kx8vQ2mZ7pL4wN9rT3yB6cF1hJ5", &claims("s-2")),
    )
    .await;
    assert_eq!(status, 401, "wrong secret");

    // The database keeps the secret sealed, never in clear.
    let sealed = identity_backend::store::clients::find_client(&app.state.db, "worker")
        .await
        .unwrap()
        .unwrap()
        .sealed_secret;
    let sealed = sealed.unwrap();
    assert!(sealed.starts_with("v1.") && !sealed.contains(SHARED));

    // Rotation re-seals: the new secret works, the old one no longer does.
    let new = identity_backend::service::admin::rotate_client_secret(
        &app.state.db,
        &app.clock,
        &app.state.config,
        "worker",
    )
    .await
    .unwrap();
    assert_eq!(
        token_with(&app, &hs256(new.expose(), &claims("s-3")))
            .await
            .0,
        200
    );
    assert_eq!(
        token_with(&app, &hs256(SHARED, &claims("s-4"))).await.0,
        401
    );
}

#[tokio::test]
async fn client_secret_jwt_needs_a_key_encryption_key() {
    let app = TestApp::spawn().await;
    let result = add_client(
        &app.state.db,
        &app.clock,
        &app.state.config,
        shared_secret_worker(Some(SHARED)),
    )
    .await;
    assert!(result.is_err_and(|e| e.to_string().contains("KEY_ENCRYPTION_KEY")));
}
