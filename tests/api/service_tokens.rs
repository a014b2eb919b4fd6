//! Service-to-service tokens: `client_credentials` and the first version's JSON request.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use identity_backend::config::Mode;
use identity_backend::crypto::SecretString;
use identity_backend::oidc::{ClientType, GrantType};
use identity_backend::service::admin::{ClientSpec, add_client};
use serde_json::{Value, json};

use crate::helpers::client_spec;
use crate::helpers::{CLIENT_ID, CLIENT_SECRET, TestApp, claims_of, header_of};

const WORKER_SECRET: &str = "worker-Kx8vQ2mZ7pL4wN9rT3yB6cF1hJ5sD0gA";

/// A machine client like careergpt-backend: may get tokens for two audiences.
async fn with_worker(app: &TestApp) {
    let spec = ClientSpec {
        grant_types: vec![GrantType::ClientCredentials],
        scopes: Some("logs:write logs:read".into()),
        audiences: vec!["logging-service".into(), "search-service".into()],
        default_audience: Some("logging-service".into()),
        secret: Some(SecretString::new(WORKER_SECRET)),
        may_act_for: vec!["careergpt-worker".into()],
        ..client_spec("careergpt-backend")
    };
    add_client(&app.state.db, &app.clock, &app.state.config, spec)
        .await
        .unwrap();
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

async fn legacy(app: &TestApp, auth: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = app.client.post(app.url("/token")).json(&body);
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn grant(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/token"))
        .header("authorization", basic("careergpt-backend", WORKER_SECRET))
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn the_first_versions_json_request_works_for_an_authenticated_client() {
    let app = TestApp::spawn().await;
    with_worker(&app).await;
    let auth = basic("careergpt-backend", WORKER_SECRET);
    let (status, body) = legacy(
        &app,
        Some(&auth),
        json!({ "sub": "careergpt-backend", "aud": "logging-service" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token"], body["access_token"]);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let token = body["token"].as_str().unwrap();
    let claims = claims_of(token);
    assert_eq!(claims["sub"], "careergpt-backend");
    assert_eq!(claims["client_id"], "careergpt-backend");
    assert_eq!(claims["aud"], "logging-service");
    assert!(claims["jti"].is_string() && claims["iat"].is_number() && claims["exp"].is_number());
    assert_eq!(header_of(token)["typ"], "at+jwt");
    let (status, _) = app
        .verify(&json!({ "token": token, "aud": "logging-service" }))
        .await;
    assert_eq!(status, 200);

    // sub and aud default to the client and its default audience.
    let (status, body) = legacy(&app, Some(&auth), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        claims_of(body["token"].as_str().unwrap())["aud"],
        "logging-service"
    );
}

#[tokio::test]
async fn a_client_may_act_for_the_services_its_registration_names() {
    let app = TestApp::spawn().await;
    with_worker(&app).await;
    let auth = basic("careergpt-backend", WORKER_SECRET);
    let (status, body) = legacy(
        &app,
        Some(&auth),
        json!({ "sub": "careergpt-worker", "aud": "logging-service" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let claims = claims_of(body["token"].as_str().unwrap());
    assert_eq!(claims["sub"], "careergpt-worker");
    assert_eq!(claims["client_id"], "careergpt-backend");
    assert_eq!(
        claims["act"],
        json!({ "sub": "careergpt-backend" }),
        "RFC 8693: who acted"
    );
    let (status, _) = legacy(&app, Some(&auth), json!({ "sub": "other-worker" })).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn unauthenticated_or_overreaching_json_requests_are_refused() {
    let app = TestApp::spawn().await;
    with_worker(&app).await;
    let auth = basic("careergpt-backend", WORKER_SECRET);
    let (status, body) = legacy(
        &app,
        None,
        json!({ "sub": "careergpt-backend", "aud": "logging-service" }),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "unauthenticated minting is gone"
    );
    let (status, body) = legacy(&app, Some(&basic("careergpt-backend", "wrong")), json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, body) = legacy(
        &app,
        Some(&auth),
        json!({ "sub": "admin", "aud": "logging-service" }),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    let (status, body) = legacy(&app, Some(&auth), json!({ "aud": "billing-service" })).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target"))
    );
    let (status, body) = legacy(&app, Some(&basic(CLIENT_ID, CLIENT_SECRET)), json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client")),
        "browser clients do not mint"
    );
    let (status, body) = legacy(&app, Some(&auth), json!(["not", "an", "object"])).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn client_credentials_stays_within_the_registration() {
    let app = TestApp::spawn().await;
    with_worker(&app).await;
    let (status, body) = grant(&app, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("id_token").is_none());
    assert_eq!(body["scope"], "logs:read logs:write");
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(
        (claims["sub"].as_str(), claims["aud"].as_str()),
        (Some("careergpt-backend"), Some("logging-service"))
    );
    assert_eq!(claims["scope"], "logs:read logs:write");

    let (_, body) = grant(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "logs:write"),
            ("resource", "search-service"),
        ],
    )
    .await;
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(
        (claims["scope"].as_str(), claims["aud"].as_str()),
        (Some("logs:write"), Some("search-service"))
    );
    let (_, body) = grant(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("audience", "search-service"),
        ],
    )
    .await;
    assert_eq!(
        claims_of(body["access_token"].as_str().unwrap())["aud"],
        "search-service"
    );

    for (form, error) in [
        (
            vec![
                ("grant_type", "client_credentials"),
                ("scope", "logs:delete"),
            ],
            "invalid_scope",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("audience", "billing"),
            ],
            "invalid_target",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("audience", "a"),
                ("resource", "b"),
            ],
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", "x"),
                ("redirect_uri", "x"),
            ],
            "unauthorized_client",
        ),
    ] {
        let (status, body) = grant(&app, &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(error)),
            "{form:?}"
        );
    }

    let browser_client = app
        .client
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = browser_client.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized_client");
}

#[tokio::test]
async fn shared_secret_audiences_get_tokens_the_existing_logging_service_accepts() {
    let secret = "logging-shared-secret-Kx8vQ2mZ7pL4wN9rT3yB6cF1hJ5s";
    let app = TestApp::spawn_with(
        Mode::Development,
        &[
            ("JWT_SECRET_KEY", secret),
            ("LOGGING_BACKEND_AUD", "logging-service"),
        ],
    )
    .await;
    with_worker(&app).await;
    let auth = basic("careergpt-backend", WORKER_SECRET);
    let (_, body) = legacy(
        &app,
        Some(&auth),
        json!({ "sub": "careergpt-backend", "aud": "logging-service" }),
    )
    .await;
    let token = body["token"].as_str().unwrap();
    assert_eq!(header_of(token)["alg"], "HS256");

    // What logging-backend does: PyJWT decode with HS256, the shared secret and its audience.
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_audience(&["logging-service"]);
    validation.validate_exp = false;
    let key = jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()).unwrap();
    let decoded = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("verifies with the shared secret");
    assert_eq!(decoded.claims["sub"], "careergpt-backend");

    let (status, _) = app
        .verify(&json!({ "token": token, "aud": "logging-service" }))
        .await;
    assert_eq!(status, 200, "/verify accepts both kinds");
    let (_, body) = legacy(&app, Some(&auth), json!({ "aud": "search-service" })).await;
    assert_eq!(
        header_of(body["token"].as_str().unwrap())["alg"],
        "RS256",
        "everything else is RS256"
    );

    // Whoever holds the shared secret (the logging service) can sign HS256 tokens: they count
    // for the shared-secret audiences only, never for another service or for a user's claims.
    let user = app.add_user("alice", "pw").await;
    let forge = |aud: &str, sub: &str| {
        let now = app.clock.now();
        let claims = json!({
            "iss": crate::helpers::DEV_ISSUER, "sub": sub, "aud": aud, "iat": now,
            "exp": now + 600, "jti": format!("forged-{aud}"), "client_id": "browser-ui",
            "scope": "openid profile email",
        });
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.typ = Some("at+jwt".into());
        jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).unwrap(),
        )
        .unwrap()
    };
    let other_service = forge("search-service", "careergpt-backend");
    let (status, body) = app.verify(&json!({ "token": other_service })).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("Invalid token"))
    );
    let (status, _) = app
        .verify(&json!({ "token": other_service, "aud": "search-service" }))
        .await;
    assert_eq!(status, 401);
    let as_alice = forge("logging-service", &user.id);
    let userinfo = app
        .client
        .get(app.url("/userinfo"))
        .bearer_auth(&as_alice)
        .send()
        .await
        .unwrap();
    assert_eq!(
        userinfo.status(),
        401,
        "a shared-key token never opens a user's claims"
    );
    let (_, introspected) = post_form(
        &app,
        "/introspect",
        Some(&auth),
        &[("token", other_service.as_str())],
    )
    .await;
    assert!(introspected.contains(r#""active":false"#), "{introspected}");
}

async fn post_form(
    app: &TestApp,
    path: &str,
    auth: Option<&str>,
    form: &[(&str, &str)],
) -> (u16, String) {
    let mut request = app.client.post(app.url(path)).form(form);
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn introspect(app: &TestApp, token: &str) -> Value {
    let auth = basic("careergpt-backend", WORKER_SECRET);
    let (status, body) = post_form(app, "/introspect", Some(&auth), &[("token", token)]).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test]
async fn introspection_tells_active_tokens_from_everything_else() {
    let app = TestApp::spawn().await;
    with_worker(&app).await;
    let (_, body) = grant(&app, &[("grant_type", "client_credentials")]).await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    let answer = introspect(&app, &token).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["client_id"], "careergpt-backend");
    assert_eq!(answer["scope"], "logs:read logs:write");
    assert!(answer["exp"].is_number() && answer["sub"].is_string());

    let foreign = {
        let (other, _) = identity_backend::crypto::SigningKey::generate_rs256().unwrap();
        let claims = claims_of(&token);
        identity_backend::crypto::jwt::sign(
            identity_backend::crypto::jwt::Signer::Key(&other),
            identity_backend::crypto::jwt::TokenType::AccessToken,
            &claims,
        )
        .unwrap()
    };
    for inactive in ["garbage", "a.b.c", foreign.as_str()] {
        assert_eq!(
            introspect(&app, inactive).await,
            json!({ "active": false }),
            "{inactive}"
        );
    }
    app.clock.advance(std::time::Duration::from_secs(16 * 60));
    assert_eq!(
        introspect(&app, &token).await,
        json!({ "active": false }),
        "expired"
    );

    let (status, _) = post_form(&app, "/introspect", None, &[("token", "x")]).await;
    assert_eq!(status, 401, "introspection needs an authenticated client");
    let (status, _) = post_form(
        &app,
        "/introspect",
        Some(&basic("careergpt-backend", "wrong")),
        &[("token", "x")],
    )
    .await;
    assert_eq!(status, 401);
    let (status, body) = post_form(
        &app,
        "/introspect",
        Some(&basic("careergpt-backend", WORKER_SECRET)),
        &[],
    )
    .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn public_clients_cannot_introspect() {
    let app = TestApp::spawn().await;
    with_worker(&app).await;
    let spec = ClientSpec {
        client_type: ClientType::Public,
        redirect_uris: vec!["http://localhost:3000/cb".into()],
        ..client_spec("spa")
    };
    add_client(&app.state.db, &app.clock, &app.state.config, spec)
        .await
        .unwrap();
    let (_, body) = grant(&app, &[("grant_type", "client_credentials")]).await;
    let token = body["access_token"].as_str().unwrap();
    let (status, _) = post_form(
        &app,
        "/introspect",
        None,
        &[("client_id", "spa"), ("token", token)],
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn revocation_takes_effect_at_once_and_only_for_the_owner() {
    let app = TestApp::spawn().await;
    with_worker(&app).await;
    let auth = basic("careergpt-backend", WORKER_SECRET);
    let (_, body) = grant(&app, &[("grant_type", "client_credentials")]).await;
    let token = body["access_token"].as_str().unwrap().to_owned();

    // Another client cannot revoke it (and learns nothing: 200 either way).
    let (status, _) = post_form(
        &app,
        "/revoke",
        None,
        &[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("token", &token),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(introspect(&app, &token).await["active"], true);

    let (status, body) = post_form(
        &app,
        "/revoke",
        Some(&auth),
        &[("token", &token), ("token_type_hint", "access_token")],
    )
    .await;
    assert_eq!((status, body.as_str()), (200, ""));
    assert_eq!(introspect(&app, &token).await, json!({ "active": false }));
    let (status, body) = app.verify(&json!({ "token": token })).await;
    assert_eq!(
        (status, body),
        (401, json!({ "valid": false, "error": "Invalid token" }))
    );

    let (status, _) = post_form(&app, "/revoke", Some(&auth), &[("token", "garbage")]).await;
    assert_eq!(status, 200, "RFC 7009 §2.2: unknown tokens are fine");
    let (status, _) = post_form(&app, "/revoke", None, &[("token", &token)]).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn access_token_alg_signs_service_tokens_with_a_key_in_the_jwks() {
    for alg in ["ES256", "EdDSA"] {
        let app = TestApp::spawn_with(Mode::Development, &[("ACCESS_TOKEN_ALG", alg)]).await;
        with_worker(&app).await;
        let (status, body) = grant(&app, &[("grant_type", "client_credentials")]).await;
        assert_eq!(status, 200, "{body}");
        let token = body["access_token"].as_str().unwrap();
        let header = header_of(token);
        assert_eq!(header["alg"], alg);
        assert_eq!(header["typ"], "at+jwt");

        // A verifier that knows nothing but our JWKS: the key named by kid, of that algorithm.
        let jwks: jsonwebtoken::jwk::JwkSet = app.get("/jwks.json").await.json().await.unwrap();
        let jwk = jwks
            .find(header["kid"].as_str().unwrap())
            .expect("kid in the JWKS");
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
        let mut validation = jsonwebtoken::Validation::new(alg.parse().unwrap());
        validation.set_audience(&["logging-service"]);
        let decoded = jsonwebtoken::decode::<Value>(token, &key, &validation).unwrap();
        assert_eq!(decoded.claims["sub"], "careergpt-backend");
        assert!(
            jwks.keys
                .iter()
                .any(|k| k.common.key_algorithm.map(|a| a.to_string()).as_deref() == Some("RS256")),
            "RS256 stays published for ID tokens"
        );

        let (status, body) = app
            .verify(&json!({ "token": token, "aud": "logging-service" }))
            .await;
        assert_eq!(status, 200, "{body}");
        // ID tokens and the dev test token stay RS256.
        assert_eq!(header_of(&app.test_token("").await)["alg"], "RS256");
    }
}
