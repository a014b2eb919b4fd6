//! Back-Channel Logout 1.0: logout tokens reach the clients a session signed in to.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use identity_backend::crypto::SecretString;
use identity_backend::service::admin::{ClientSpec, add_client, logout_user};
use identity_backend::store::backchannel::list_deliveries;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::Value;
use tokio::net::TcpListener;

use crate::helpers::{DEV_ISSUER, TestApp, claims_of, client_spec, location, query_of, urlencode};

const SECRET: &str = "bc-Kx8vQ2mZ7pL4wN9rT3yB6cF1hJ5sD0gA";
const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// A client's back-channel endpoint: keeps every `logout_token` it is sent.
struct Receiver {
    url: String,
    tokens: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    async fn start(status: StatusCode) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(listener, status)
    }

    fn start_on(listener: TcpListener, status: StatusCode) -> Receiver {
        let url = format!(
            "http://{}/backchannel-logout",
            listener.local_addr().unwrap()
        );
        let tokens = Arc::new(Mutex::new(Vec::new()));
        let kept = tokens.clone();
        let app = axum::Router::new()
            .route(
                "/backchannel-logout",
                post(
                    move |State(kept): State<Arc<Mutex<Vec<String>>>>,
                          axum::Form(form): axum::Form<HashMap<String, String>>| async move {
                        if let Some(token) = form.get("logout_token") {
                            kept.lock().unwrap().push(token.clone());
                        }
                        status
                    },
                ),
            )
            .with_state(kept);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, tokens }
    }

    fn received(&self) -> Vec<String> {
        self.tokens.lock().unwrap().clone()
    }
}

/// Waits (up to 15 s) until `done` holds: deliveries are asynchronous.
async fn eventually(what: &str, done: impl AsyncFn() -> bool) {
    for _ in 0..300 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn register(app: &TestApp, id: &str, backchannel: Option<&str>) {
    let spec = ClientSpec {
        redirect_uris: vec![format!("http://localhost:6000/{id}/cb")],
        secret: Some(SecretString::new(SECRET)),
        backchannel_logout_uri: backchannel.map(str::to_owned),
        ..client_spec(id)
    };
    add_client(&app.state.db, &app.clock, &app.state.config, spec)
        .await
        .unwrap();
}

fn query(id: &str) -> String {
    format!(
        "client_id={id}&redirect_uri={}&response_type=code&scope=openid",
        urlencode(&format!("http://localhost:6000/{id}/cb"))
    )
}

/// Signs alice in to `first` with her password and returns its ID token.
async fn sign_in(app: &TestApp, first: &str) -> String {
    app.add_user("alice", "pw").await;
    sign_in_again(app, first).await
}

/// Signs the existing alice in to `first` with her password and returns its ID token.
async fn sign_in_again(app: &TestApp, first: &str) -> String {
    let to = app.sign_in(&app.client, &query(first), "alice", "pw").await;
    let code = query_of(&to).remove("code").unwrap();
    let redirect_uri = format!("http://localhost:6000/{first}/cb");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", first),
        ("client_secret", SECRET),
        ("redirect_uri", redirect_uri.as_str()),
    ];
    let tokens: Value = app.post_form("/token", &form).await.json().await.unwrap();
    tokens["id_token"].as_str().unwrap().to_owned()
}

/// Signs the browser in to `id` without a password (SSO).
async fn sso(app: &TestApp, id: &str) {
    let response = app.authorize(&app.client, &query(id)).await;
    assert_eq!(response.status(), 302);
    assert!(query_of(&location(&response)).contains_key("code"));
}

async fn logout_with_hint(app: &TestApp, id_token: &str) {
    let response = app
        .client
        .get(app.url(&format!("/logout?id_token_hint={id_token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "signed out");
}

/// Checks a logout token as a client library would (§2.6), against our JWKS.
async fn check_logout_token(app: &TestApp, token: &str, client_id: &str, id_token: &str) {
    let header = decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    assert_eq!(header.alg, Algorithm::RS256);
    let jwks: JwkSet = app.get("/jwks.json").await.json().await.unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("a published key");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[client_id]);
    validation.set_issuer(&[DEV_ISSUER]);
    validation.set_required_spec_claims(&["iss", "aud", "iat", "exp"]);
    let claims = decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .expect("a valid logout token")
        .claims;
    let id = claims_of(id_token);
    assert_eq!(claims["sub"], id["sub"]);
    assert_eq!(claims["sid"], id["sid"]);
    assert_eq!(claims["events"][EVENT], serde_json::json!({}));
    assert!(claims.get("nonce").is_none(), "§2.4: never a nonce");
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 120);
}

#[tokio::test]
async fn every_client_of_the_session_hears_that_it_ended() {
    let app = TestApp::spawn().await;
    let (a, b, c) = (
        Receiver::start(StatusCode::OK).await,
        Receiver::start(StatusCode::NO_CONTENT).await,
        Receiver::start(StatusCode::OK).await,
    );
    register(&app, "web", Some(&a.url)).await;
    register(&app, "wiki", Some(&b.url)).await;
    register(&app, "never-used", Some(&c.url)).await;
    register(&app, "quiet", None).await;
    let id_token = sign_in(&app, "web").await;
    sso(&app, "wiki").await;
    sso(&app, "quiet").await;

    logout_with_hint(&app, &id_token).await;

    eventually("both clients have a logout token", async || {
        a.received().len() == 1 && b.received().len() == 1
    })
    .await;
    check_logout_token(&app, &a.received()[0], "web", &id_token).await;
    check_logout_token(&app, &b.received()[0], "wiki", &id_token).await;
    assert!(c.received().is_empty(), "a client the session never used");
    eventually("no delivery is left", async || {
        list_deliveries(&app.state.db).await.unwrap().is_empty()
    })
    .await;
    let (ja, jb) = (claims_of(&a.received()[0]), claims_of(&b.received()[0]));
    assert_ne!(ja["jti"], jb["jti"]);
}

#[tokio::test]
async fn each_session_tells_its_clients_once_however_often_they_signed_in() {
    let app = TestApp::spawn().await;
    let (a, b) = (
        Receiver::start(StatusCode::OK).await,
        Receiver::start(StatusCode::OK).await,
    );
    register(&app, "web", Some(&a.url)).await;
    register(&app, "wiki", Some(&b.url)).await;
    let first = sign_in(&app, "web").await;
    sso(&app, "web").await;
    sso(&app, "wiki").await;
    sso(&app, "web").await;
    logout_with_hint(&app, &first).await;
    eventually("each client has one logout token", async || {
        a.received().len() == 1 && b.received().len() == 1
    })
    .await;

    // A new session in the same browser: its sign-ins are recorded anew, under its own sid.
    let second = sign_in_again(&app, "web").await;
    assert_ne!(claims_of(&first)["sid"], claims_of(&second)["sid"]);
    sso(&app, "web").await;
    logout_with_hint(&app, &second).await;
    eventually("web has a second logout token", async || {
        a.received().len() == 2
    })
    .await;
    let (old, new) = (claims_of(&a.received()[0]), claims_of(&a.received()[1]));
    assert_ne!(old["sid"], new["sid"], "one token per session");
    assert_eq!(
        b.received().len(),
        1,
        "wiki was not used by the second session"
    );
    // The sender deletes a delivery once the client answered: just after it got the token.
    eventually("no delivery is left", async || {
        list_deliveries(&app.state.db).await.unwrap().is_empty()
    })
    .await;
}

#[tokio::test]
async fn a_client_that_is_down_gets_it_when_it_comes_back() {
    let app = TestApp::spawn().await;
    let parked = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = parked.local_addr().unwrap();
    drop(parked); // nothing listens there now
    let url = format!("http://{address}/backchannel-logout");
    register(&app, "web", Some(&url)).await;
    let id_token = sign_in(&app, "web").await;

    logout_with_hint(&app, &id_token).await;
    assert_eq!(
        app.authorize(&app.client, &query("web")).await.status(),
        200,
        "the sign-out did not wait for the client"
    );
    let now = app.clock.now();
    let db = app.state.db.clone();
    let mut failed = false;
    for _ in 0..300 {
        let queued = list_deliveries(&db).await.unwrap();
        assert_eq!(queued.len(), 1, "kept for a retry");
        // Rescheduled for the first retry delay, not merely claimed (a claim hides the
        // delivery for a 60 s lease while the attempt is in flight).
        let retry_at = now + identity_backend::service::backchannel::RETRY_DELAYS[0];
        let due = queued[0].next_attempt_at;
        if queued[0].attempts == 1 && due > now && due <= retry_at {
            failed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(failed, "the first attempt failed and a retry is scheduled");

    let receiver = Receiver::start_on(TcpListener::bind(address).await.unwrap(), StatusCode::OK);
    app.clock.advance(Duration::from_secs(
        identity_backend::service::backchannel::RETRY_DELAYS[0].unsigned_abs(),
    ));
    eventually("the retry is delivered", async || {
        receiver.received().len() == 1
    })
    .await;
    check_logout_token(&app, &receiver.received()[0], "web", &id_token).await;
    eventually("the queue is empty", async || queue_is_empty(&db).await).await;
}

async fn queue_is_empty(db: &identity_backend::store::Db) -> bool {
    list_deliveries(db).await.unwrap().is_empty()
}

#[tokio::test]
async fn a_client_that_refuses_the_token_is_not_asked_again() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(StatusCode::BAD_REQUEST).await;
    register(&app, "web", Some(&receiver.url)).await;
    let id_token = sign_in(&app, "web").await;
    logout_with_hint(&app, &id_token).await;
    eventually("the client answered", async || {
        receiver.received().len() == 1
    })
    .await;
    let db = app.state.db.clone();
    eventually("the delivery is dropped", async || {
        queue_is_empty(&db).await
    })
    .await;
    app.clock.advance(Duration::from_secs(3600));
    tokio::time::sleep(identity_backend::service::backchannel::POLL_INTERVAL * 2).await;
    assert_eq!(receiver.received().len(), 1, "no retry after a 400");
}

#[tokio::test]
async fn signing_a_user_out_from_the_cli_tells_their_clients() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(StatusCode::OK).await;
    register(&app, "web", Some(&receiver.url)).await;
    let id_token = sign_in(&app, "web").await;
    // What `identity-backend user logout alice` runs, in another process: it only queues.
    let (sessions, _) = logout_user(&app.state.db, &app.clock, "alice")
        .await
        .unwrap();
    assert_eq!(sessions, 1);
    eventually("the running server delivered it", async || {
        receiver.received().len() == 1
    })
    .await;
    check_logout_token(&app, &receiver.received()[0], "web", &id_token).await;
    assert_eq!(
        app.authorize(&app.client, &query("web")).await.status(),
        200,
        "the browser is signed out"
    );
}

#[tokio::test]
async fn registration_refuses_bad_backchannel_uris_and_discovery_advertises_it() {
    let app = TestApp::spawn().await;
    for bad in [
        "/relative",
        "https://app.example/bc#frag",
        "ftp://app.example/bc",
    ] {
        let spec = ClientSpec {
            backchannel_logout_uri: Some(bad.into()),
            ..client_spec("bad")
        };
        assert!(
            add_client(&app.state.db, &app.clock, &app.state.config, spec)
                .await
                .is_err(),
            "{bad}"
        );
    }
    let doc: Value = app
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(doc["backchannel_logout_supported"], true);
    assert_eq!(doc["backchannel_logout_session_supported"], true);
}
