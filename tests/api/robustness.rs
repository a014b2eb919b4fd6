//! Property: whatever arrives, the server answers below 500 and keeps answering. Random
//! methods, paths, query strings (repeated, overlong, badly encoded), content types, bodies
//! (invalid UTF-8, deep JSON) and credentials go to the real server over HTTP.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::helpers::TestApp;

const PATHS: &[&str] = &[
    "/authorize",
    "/login",
    "/consent",
    "/logout",
    "/token",
    "/introspect",
    "/revoke",
    "/userinfo",
    "/verify",
    "/test-token",
    "/jwks.json",
    "/.well-known/openid-configuration",
    "/static/idp.css",
    "/ping",
    "/nope",
];

const NAMES: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code",
    "code_verifier",
    "code_challenge",
    "code_challenge_method",
    "grant_type",
    "refresh_token",
    "token",
    "aud",
    "sub",
    "prompt",
    "max_age",
    "id_token_hint",
    "post_logout_redirect_uri",
    "client_assertion",
    "client_assertion_type",
    "csrf_token",
    "request_id",
    "username",
    "password",
    "action",
    "ttl",
    "resource",
    "audience",
];

#[derive(Debug, Clone)]
struct Attempt {
    method: &'static str,
    path: String,
    query: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    authorization: Option<String>,
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_.~-]{0,24}",
        Just("openid profile email offline_access".to_owned()),
        Just("authorization_code".to_owned()),
        Just("client_credentials".to_owned()),
        Just("refresh_token".to_owned()),
        Just("browser-ui".to_owned()),
        Just("http://localhost:5000/callback".to_owned()),
        Just("%ZZ%%".to_owned()),
        Just("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.".to_owned()),
        "[\\PC]{0,40}",
        (1usize..5000).prop_map(|n| "a".repeat(n)),
    ]
}

fn pairs() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(NAMES), value()), 0..8).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={}", v.replace(' ', "%20").replace('&', "%26")))
            .collect::<Vec<_>>()
            .join("&")
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        pairs().prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..512),
        Just(b"{\"token\": ".repeat(64)),
        Just(br#"{"token": 7, "aud": ["x"]}"#.to_vec()),
        Just(br#"{"sub": "gw", "aud": "logging-service"}"#.to_vec()),
        Just(b"\xff\xfe\xfd".to_vec()),
    ]
}

fn attempt() -> impl Strategy<Value = Attempt> {
    (
        prop::sample::select(&["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"][..]),
        prop_oneof![
            prop::sample::select(PATHS).prop_map(str::to_owned),
            "/[a-z%./]{0,30}",
        ],
        pairs(),
        prop::option::of(prop::sample::select(
            &[
                "application/x-www-form-urlencoded",
                "application/json",
                "text/plain",
                "multipart/form-data; boundary=x",
                "application/json; charset=latin1",
            ][..],
        )),
        body(),
        prop::option::of(prop_oneof![
            Just("Basic YnJvd3Nlci11aTpkZXYtY2xpZW50LXNlY3JldA==".to_owned()),
            "Basic [A-Za-z0-9+/=]{0,40}",
            "Bearer [A-Za-z0-9._-]{0,80}",
            "[ -~]{0,30}",
        ]),
    )
        .prop_map(
            |(method, path, query, content_type, body, authorization)| Attempt {
                method,
                path,
                query,
                content_type,
                body,
                authorization,
            },
        )
}

async fn send(app: &TestApp, a: &Attempt) -> Result<u16, String> {
    let method = reqwest::Method::from_bytes(a.method.as_bytes()).map_err(|e| e.to_string())?;
    let url = if a.query.is_empty() {
        app.url(&a.path)
    } else {
        app.url(&format!("{}?{}", a.path, a.query))
    };
    let mut request = app.client.request(method, url).body(a.body.clone());
    if let Some(ct) = a.content_type {
        request = request.header("content-type", ct);
    }
    if let Some(auth) = &a.authorization {
        request = request.header("authorization", auth);
    }
    match request.send().await {
        Ok(response) => Ok(response.status().as_u16()),
        // A URL or header the client library itself refuses never reached the server.
        Err(e) if e.is_builder() => Ok(0),
        Err(e) => Err(format!("no answer: {e}")),
    }
}

#[test]
fn no_request_gets_a_5xx_or_brings_the_server_down() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(TestApp::spawn());
    let mut runner = TestRunner::new(Config {
        cases: 1000,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&attempt(), |a| {
            let status = runtime
                .block_on(send(&app, &a))
                .map_err(TestCaseError::fail)?;
            prop_assert!(status < 500, "{status} for {a:?}");
            Ok(())
        })
        .unwrap();
    let alive = runtime.block_on(async { app.get("/ping").await.status().as_u16() });
    assert_eq!(alive, 200);
    runtime.block_on(async move { drop(app) });
}
