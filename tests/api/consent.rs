//! Consent for third-party clients; first-party clients never ask.

use identity_backend::crypto::SecretString;
use identity_backend::service::admin::{ClientSpec, add_client};
use reqwest::Response;

use crate::helpers::{
    TestApp, client_spec, form_fields, gateway_query, location, query_of, urlencode,
};

const PARTNER_CB: &str = "https://partner.example/cb";

async fn partner(app: &TestApp, name: &str) {
    let spec = ClientSpec {
        name: Some(name.into()),
        redirect_uris: vec![PARTNER_CB.into()],
        secret: Some(SecretString::new("partner-Kx8vQ2mZ7pL4wN9rT3yB6cF1hJ5sD0g")),
        first_party: false,
        ..client_spec("partner")
    };
    add_client(&app.state.db, &app.clock, &app.state.config, spec)
        .await
        .unwrap();
}

fn partner_query(scope: &str, extra: &str) -> String {
    format!(
        "client_id=partner&redirect_uri={}&response_type=code&scope={}&state=p-1{extra}",
        urlencode(PARTNER_CB),
        urlencode(scope)
    )
}

/// Signs alice in for the partner and returns the consent page.
async fn consent_page(app: &TestApp, scope: &str) -> String {
    app.add_user("alice", "pw").await;
    let page = app.authorize(&app.client, &partner_query(scope, "")).await;
    let html = page.text().await.unwrap();
    let response = app.submit_login(&app.client, &html, "alice", "pw").await;
    assert_eq!(response.status(), 200, "asked before the code is issued");
    response.text().await.unwrap()
}

async fn answer(app: &TestApp, page: &str, action: &str) -> Response {
    let mut fields = form_fields(page);
    fields.insert("action".into(), action.into());
    app.client
        .post(app.url("/consent"))
        .form(&fields)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_third_party_client_asks_once_and_the_answer_is_remembered() {
    let app = TestApp::spawn().await;
    partner(&app, "Partner App").await;
    let page = consent_page(&app, "openid profile").await;
    assert!(page.contains("Partner App"));
    assert!(
        page.contains("See your name and username"),
        "scopes in words"
    );
    assert!(page.contains("alice"), "who is signed in");

    let allowed = answer(&app, &page, "allow").await;
    assert_eq!(allowed.status(), 303);
    let back = query_of(&location(&allowed));
    assert!(back.contains_key("code"));
    assert_eq!(back["state"], "p-1");

    // The same scopes again: straight back, no page.
    let again = app
        .authorize(&app.client, &partner_query("openid profile", ""))
        .await;
    assert_eq!(again.status(), 302);
    assert!(query_of(&location(&again)).contains_key("code"));
    let fewer = app
        .authorize(&app.client, &partner_query("openid", ""))
        .await;
    assert_eq!(fewer.status(), 302, "a subset of what was allowed");

    // A new scope asks again; with prompt=none it cannot, so it says so.
    let more = app
        .authorize(&app.client, &partner_query("openid email", ""))
        .await;
    assert_eq!(more.status(), 200);
    assert!(
        more.text()
            .await
            .unwrap()
            .contains("See your email address")
    );
    let silent = app
        .authorize(&app.client, &partner_query("openid email", "&prompt=none"))
        .await;
    assert_eq!(silent.status(), 302);
    let error = query_of(&location(&silent));
    assert_eq!(error["error"], "consent_required");
    assert_eq!(error["state"], "p-1");

    // prompt=consent asks even for what was allowed.
    let forced = app
        .authorize(&app.client, &partner_query("openid", "&prompt=consent"))
        .await;
    assert_eq!(forced.status(), 200);
    assert!(forced.text().await.unwrap().contains("Allow"));
}

#[tokio::test]
async fn denial_returns_access_denied_and_is_not_remembered() {
    let app = TestApp::spawn().await;
    partner(&app, "Partner App").await;
    let page = consent_page(&app, "openid").await;
    let denied = answer(&app, &page, "deny").await;
    assert_eq!(denied.status(), 303);
    let to = location(&denied);
    assert!(to.starts_with(PARTNER_CB));
    let back = query_of(&to);
    assert_eq!(back["error"], "access_denied");
    assert_eq!(back["state"], "p-1");
    assert!(!back.contains_key("code"));

    let again = app
        .authorize(&app.client, &partner_query("openid", ""))
        .await;
    assert_eq!(again.status(), 200, "asked again");

    // The used-up consent form cannot be replayed.
    let replay = answer(&app, &page, "allow").await;
    assert_eq!(replay.status(), 400);
}

#[tokio::test]
async fn a_forged_consent_post_issues_nothing() {
    let app = TestApp::spawn().await;
    partner(&app, "Partner App").await;
    let page = consent_page(&app, "openid").await;
    let mut fields = form_fields(&page);
    fields.insert("csrf_token".into(), "forged".into());
    fields.insert("action".into(), "allow".into());
    let response = app
        .client
        .post(app.url("/consent"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    assert_eq!(
        answer(&app, &page, "allow").await.status(),
        303,
        "the real form still works"
    );
}

#[tokio::test]
async fn the_consent_page_escapes_the_client_name() {
    let app = TestApp::spawn().await;
    partner(&app, "<script>alert(1)</script>").await;
    let page = consent_page(&app, "openid").await;
    assert!(!page.contains("<script>"), "{page}");
    assert!(page.contains("&#60;script&#62;"));
}

#[tokio::test]
async fn first_party_clients_never_ask() {
    let app = TestApp::spawn().await;
    app.add_user("alice", "pw").await;
    let to = app
        .sign_in(&app.client, &gateway_query("nonce=n-1"), "alice", "pw")
        .await;
    assert!(query_of(&to).contains_key("code"));
}
