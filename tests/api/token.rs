//! `POST /token` with the authorization code grant, and `/userinfo`.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use identity_backend::crypto::SecretString;
use identity_backend::service::admin::{ClientSpec, add_client};
use serde_json::Value;

use crate::helpers::{
    CLIENT_ID, CLIENT_SECRET, DEV_ISSUER, REDIRECT_URI, TestApp, claims_of, client_spec,
    gateway_query, header_of, location, query_of,
};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A fresh code for the dev client from `query`: signing in as alice unless the session
/// already is (SSO).
async fn code_for(app: &TestApp, query: &str) -> String {
    let response = app.authorize(&app.client, query).await;
    let to = if response.status() == 302 {
        location(&response)
    } else {
        let page = response.text().await.unwrap();
        location(&app.submit_login(&app.client, &page, "alice", "pw").await)
    };
    query_of(&to).remove("code").expect("a code")
}

async fn app_with_alice() -> TestApp {
    let app = TestApp::spawn().await;
    app.add_user("alice", "pw").await;
    app
}

async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn the_existing_gateway_gets_what_it_checks() {
    let app = app_with_alice().await;
    // The gateway's exact requests: scope=openid, client_secret_post, no PKCE, no nonce.
    let code = code_for(&app, &gateway_query("")).await;
    let response = app.redeem(&code).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 15 * 60);
    assert_eq!(body["scope"], "openid");
    let id = claims_of(body["id_token"].as_str().unwrap());
    assert_eq!(
        id["aud"],
        Value::String(CLIENT_ID.into()),
        "aud is the client id as a plain string"
    );
    assert_eq!(id["iss"], DEV_ISSUER);
    assert_eq!(id["exp"], app.start + 15 * 60);
    assert_eq!(id["auth_time"], app.start);
    assert_eq!(id["preferred_username"], "alice");
    assert!(id.get("nonce").is_none());
    assert!(
        id.get("email").is_none(),
        "no email claims without the email scope"
    );
    assert!(id["sid"].as_str().is_some_and(|s| !s.is_empty()));
    let header = header_of(body["id_token"].as_str().unwrap());
    assert_eq!(header["alg"], "RS256");
    assert!(header["kid"].is_string());

    let access = body["access_token"].as_str().unwrap();
    assert_eq!(header_of(access)["typ"], "at+jwt", "RFC 9068 access token");
    let at = claims_of(access);
    assert_eq!(at["client_id"], CLIENT_ID);
    assert_eq!(at["sub"], id["sub"]);
    assert!(at["jti"].is_string());
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access.as_bytes());
    assert_eq!(
        id["at_hash"],
        URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
    );

    // Both tokens verify at /verify like any other token of ours.
    let (status, _) = app
        .verify(&serde_json::json!({ "token": body["id_token"], "aud": CLIENT_ID }))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn nonce_and_scopes_reach_the_id_token() {
    let app = app_with_alice().await;
    let query = gateway_query("nonce=n-0S6_WzA2Mj")
        .replace("scope=openid", "scope=openid%20profile%20email");
    let code = code_for(&app, &query).await;
    let (status, body) = json(app.redeem(&code).await).await;
    assert_eq!(status, 200);
    let id = claims_of(body["id_token"].as_str().unwrap());
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(id["email"], "alice@example.com");
    assert_eq!(id["email_verified"], false);
    assert_eq!(id["name"], "User alice");
    assert_eq!(body["scope"], "email openid profile");
}

#[tokio::test]
async fn client_authentication_failures() {
    let app = app_with_alice().await;
    let code = code_for(&app, &gateway_query("")).await;
    let base = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
    ];

    let wrong_post = app
        .client
        .post(app.url("/token"))
        .form(
            &[
                &base[..],
                &[("client_id", CLIENT_ID), ("client_secret", "wrong")],
            ]
            .concat(),
        )
        .send()
        .await
        .unwrap();
    let (status, body) = json(wrong_post).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    let wrong_basic = app
        .client
        .post(app.url("/token"))
        .header(
            "authorization",
            format!("Basic {}", STANDARD.encode(format!("{CLIENT_ID}:wrong"))),
        )
        .form(&base)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_basic.status(), 401);
    assert!(
        wrong_basic.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );

    let unknown = app
        .client
        .post(app.url("/token"))
        .form(
            &[
                &base[..],
                &[("client_id", "nobody"), ("client_secret", "x")],
            ]
            .concat(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(json(unknown).await.1["error"], "invalid_client");

    let none = app
        .client
        .post(app.url("/token"))
        .form(&base)
        .send()
        .await
        .unwrap();
    assert_eq!(json(none).await.1["error"], "invalid_client");

    let confidential_as_public = app
        .client
        .post(app.url("/token"))
        .form(&[&base[..], &[("client_id", CLIENT_ID)]].concat())
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(confidential_as_public).await.1["error"],
        "invalid_client"
    );

    // The code was never redeemed by these attempts: Basic with the right secret works.
    let basic = app
        .client
        .post(app.url("/token"))
        .header(
            "authorization",
            format!(
                "Basic {}",
                STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
            ),
        )
        .form(&base)
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 200);
}

#[tokio::test]
async fn codes_are_single_use_and_a_replay_revokes_the_first_tokens() {
    let app = app_with_alice().await;
    let code = code_for(&app, &gateway_query("")).await;
    let (status, first) = json(app.redeem(&code).await).await;
    assert_eq!(status, 200);
    let access = first["access_token"].as_str().unwrap().to_owned();
    let info = app
        .client
        .get(app.url("/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200);

    let (status, replay) = json(app.redeem(&code).await).await;
    assert_eq!(
        (status, replay["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let info = app
        .client
        .get(app.url("/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(
        info.status(),
        401,
        "the tokens of a replayed code are revoked"
    );
}

#[tokio::test]
async fn a_replayed_code_also_revokes_its_refresh_token() {
    let app = app_with_alice().await;
    let query = gateway_query("").replace("scope=openid", "scope=openid%20offline_access");
    let code = code_for(&app, &query).await;
    let (status, first) = json(app.redeem(&code).await).await;
    assert_eq!(status, 200);
    let refresh = first["refresh_token"]
        .as_str()
        .expect("offline access")
        .to_owned();
    assert_eq!(app.redeem(&code).await.status(), 400, "the replay");
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ];
    let (status, body) = json(app.post_form("/token", &form).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "RFC 6749 §4.1.2: every token the leaked code produced is revoked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_succeed_once() {
    let app = app_with_alice().await;
    let code = code_for(&app, &gateway_query("")).await;
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (client, url, code) = (app.client.clone(), app.url("/token"), code.clone());
        attempts.spawn(async move {
            let form = [
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
                ("redirect_uri", REDIRECT_URI),
            ];
            client
                .post(url)
                .form(&form)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let statuses = attempts.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        7,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn codes_expire_and_are_bound_to_client_and_redirect_uri() {
    let app = app_with_alice().await;
    let code = code_for(&app, &gateway_query("")).await;
    app.clock.advance(Duration::from_secs(61));
    assert_eq!(
        json(app.redeem(&code).await).await.1["error"],
        "invalid_grant",
        "60 s lifetime"
    );

    let code = code_for(&app, &gateway_query("")).await;
    let other_redirect = app
        .client
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("redirect_uri", "http://localhost:5000/other"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(json(other_redirect).await.1["error"], "invalid_grant");

    let spec = ClientSpec {
        redirect_uris: vec![REDIRECT_URI.into()],
        secret: Some(SecretString::new("thief-Kx8vQ2mZ7pL4wN9rT3yB6cF1hJ5sD0gA")),
        ..client_spec("thief")
    };
    add_client(&app.state.db, &app.clock, &app.state.config, spec)
        .await
        .unwrap();
    let code = code_for(&app, &gateway_query("")).await;
    let stolen = app
        .client
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", "thief"),
            ("client_secret", "thief-Kx8vQ2mZ7pL4wN9rT3yB6cF1hJ5sD0gA"),
            ("redirect_uri", REDIRECT_URI),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(stolen).await.1["error"],
        "invalid_grant",
        "a code works only for its client"
    );
}

#[tokio::test]
async fn pkce_is_enforced_both_ways() {
    let app = app_with_alice().await;
    let redeem = |code: String, verifier: Option<&'static str>| {
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("client_id", CLIENT_ID.to_owned()),
            ("client_secret", CLIENT_SECRET.to_owned()),
            ("redirect_uri", REDIRECT_URI.to_owned()),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v.to_owned()));
        }
        app.client.post(app.url("/token")).form(&form).send()
    };
    let pkce = gateway_query(&format!(
        "code_challenge={CHALLENGE}&code_challenge_method=S256"
    ));
    let code = code_for(&app, &pkce).await;
    assert_eq!(
        json(redeem(code, None).await.unwrap()).await.1["error"],
        "invalid_grant",
        "verifier missing"
    );
    let code = code_for(&app, &pkce).await;
    let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK";
    assert_eq!(
        json(redeem(code, Some(wrong)).await.unwrap()).await.1["error"],
        "invalid_grant"
    );
    let code = code_for(&app, &pkce).await;
    assert_eq!(
        json(redeem(code, Some(VERIFIER)).await.unwrap()).await.0,
        200
    );
    let code = code_for(&app, &gateway_query("")).await;
    assert_eq!(
        json(redeem(code, Some(VERIFIER)).await.unwrap()).await.1["error"],
        "invalid_grant",
        "a verifier without a challenge is a downgrade"
    );
}

#[tokio::test]
async fn malformed_token_requests() {
    let app = app_with_alice().await;
    let post = |body: &'static str, content_type: &'static str| {
        app.client
            .post(app.url("/token"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let form = "application/x-www-form-urlencoded";
    let cases = [
        (
            "client_id=browser-ui&client_secret=dev-client-secret",
            form,
            "invalid_request",
        ),
        (
            "grant_type=password&client_id=browser-ui&client_secret=dev-client-secret",
            form,
            "unsupported_grant_type",
        ),
        (
            "grant_type=authorization_code&client_id=browser-ui&client_secret=dev-client-secret",
            form,
            "invalid_request",
        ),
        (
            "grant_type=authorization_code&grant_type=authorization_code&code=x",
            form,
            "invalid_request",
        ),
        (
            "grant_type=authorization_code&code=nope&client_id=browser-ui&client_secret=dev-client-secret&redirect_uri=x",
            form,
            "invalid_grant",
        ),
    ];
    for (body, content_type, error) in cases {
        let response = post(body, content_type).await.unwrap();
        assert_eq!(response.headers()["cache-control"], "no-store", "{body}");
        let (status, reply) = json(response).await;
        assert_eq!(reply["error"], error, "{body}");
        assert_eq!(status, 400, "{body}");
        assert!(reply["error_description"].is_string());
    }
    let invalid_utf8 = app
        .client
        .post(app.url("/token"))
        .header("content-type", form)
        .body(vec![b'g', b'=', 0xff, 0xfe])
        .send()
        .await
        .unwrap();
    assert!(invalid_utf8.status().is_client_error());
}

#[tokio::test]
async fn userinfo_answers_by_scope_and_refuses_everything_else() {
    let app = app_with_alice().await;
    let query = gateway_query("").replace("scope=openid", "scope=openid%20email");
    let code = code_for(&app, &query).await;
    let (_, tokens) = json(app.redeem(&code).await).await;
    let access = tokens["access_token"].as_str().unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();

    let (status, info) = json(
        app.client
            .get(app.url("/userinfo"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(info["sub"], claims_of(id_token)["sub"]);
    assert_eq!(info["email"], "alice@example.com");
    assert!(info.get("name").is_none(), "no profile scope, no name");

    let post = app
        .client
        .post(app.url("/userinfo"))
        .form(&[("access_token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 200, "RFC 6750 §2.2 form parameter");

    let missing = app.client.get(app.url("/userinfo")).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.headers()["www-authenticate"],
        "Bearer realm=\"identity-backend\""
    );

    for bad in ["garbage", id_token] {
        let response = app
            .client
            .get(app.url("/userinfo"))
            .bearer_auth(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{bad}");
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("error=\"invalid_token\"")
        );
    }

    app.clock.advance(Duration::from_secs(16 * 60));
    let expired = app
        .client
        .get(app.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 401, "expired access token");
}
