//! RP-Initiated Logout 1.0 at `/logout`.

use identity_backend::crypto::SecretString;
use identity_backend::service::admin::{ClientSpec, add_client};
use serde_json::Value;

use crate::helpers::client_spec;
use crate::helpers::{TestApp, browser, form_fields, location, query_of, urlencode};

const APP_CB: &str = "http://localhost:6000/cb";
const APP_BYE: &str = "http://localhost:6000/signed-out";
const APP_SECRET: &str = "web-Kx8vQ2mZ7pL4wN9rT3yB6cF1hJ5sD0gA";

/// A signed-in app with a client registered for post-logout redirects, and its ID token.
async fn signed_in(app: &TestApp) -> String {
    let spec = ClientSpec {
        redirect_uris: vec![APP_CB.into()],
        secret: Some(SecretString::new(APP_SECRET)),
        post_logout_redirect_uris: vec![APP_BYE.into()],
        ..client_spec("web")
    };
    add_client(&app.state.db, &app.clock, &app.state.config, spec)
        .await
        .unwrap();
    app.add_user("alice", "pw").await;
    let query = format!(
        "client_id=web&redirect_uri={}&response_type=code&scope=openid",
        urlencode(APP_CB)
    );
    let to = app.sign_in(&app.client, &query, "alice", "pw").await;
    let code = query_of(&to).remove("code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", "web"),
        ("client_secret", APP_SECRET),
        ("redirect_uri", APP_CB),
    ];
    let tokens: Value = app.post_form("/token", &form).await.json().await.unwrap();
    tokens["id_token"].as_str().unwrap().to_owned()
}

async fn still_signed_in(app: &TestApp) -> bool {
    let query = format!(
        "client_id=web&redirect_uri={}&response_type=code&scope=openid",
        urlencode(APP_CB)
    );
    app.authorize(&app.client, &query).await.status() == 302
}

#[tokio::test]
async fn a_valid_hint_signs_out_at_once_and_returns_with_state() {
    let app = TestApp::spawn().await;
    let id_token = signed_in(&app).await;
    let query = format!(
        "id_token_hint={id_token}&post_logout_redirect_uri={}&state=bye-1",
        urlencode(APP_BYE)
    );
    let response = app
        .client
        .get(app.url(&format!("/logout?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(location(&response), format!("{APP_BYE}?state=bye-1"));
    assert!(
        !still_signed_in(&app).await,
        "the next /authorize shows the form"
    );
}

#[tokio::test]
async fn without_a_hint_it_asks_and_a_forged_post_does_nothing() {
    let app = TestApp::spawn().await;
    signed_in(&app).await;
    let query = format!(
        "client_id=web&post_logout_redirect_uri={}&state=s",
        urlencode(APP_BYE)
    );
    let ask = app
        .client
        .get(app.url(&format!("/logout?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(ask.status(), 200);
    assert_eq!(ask.headers()["x-frame-options"], "DENY");
    let page = ask.text().await.unwrap();
    assert!(page.contains("Sign out?"));
    assert!(still_signed_in(&app).await, "asking signs nobody out");

    // A cross-site form post without the session's CSRF token.
    let mut forged = form_fields(&page);
    forged.insert("csrf_token".into(), "forged".into());
    let response = app
        .client
        .post(app.url("/logout"))
        .form(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "asked again");
    assert!(still_signed_in(&app).await);

    let confirm = app
        .client
        .post(app.url("/logout"))
        .form(&form_fields(&page))
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status(), 303);
    assert_eq!(location(&confirm), format!("{APP_BYE}?state=s"));
    assert!(!still_signed_in(&app).await);
}

#[tokio::test]
async fn unregistered_destinations_are_never_followed() {
    let app = TestApp::spawn().await;
    let id_token = signed_in(&app).await;
    for uri in [
        "https://evil.example.com/",
        "http://localhost:6000/signed-out/",
        "http://localhost:6000/cb",
        "http://LOCALHOST:6000/signed-out",
        "http://localhost:6000/Signed-out",
        "http://localhost:6000/signed-out?x=1",
        "http://localhost:6000/signed-out#x",
        "http://localhost:6000/signed-out/../evil",
        "http://localhost:6000/signed-out%2F..%2Fevil",
        "http://localhost:6000@evil.example.com/signed-out",
        "http://localhost:6000.evil.example.com/signed-out",
        "https://localhost:6000/signed-out",
        "//evil.example.com/signed-out",
        "http://localhost:6000/signed-out\\@evil.example.com",
    ] {
        let query = format!(
            "id_token_hint={id_token}&post_logout_redirect_uri={}",
            urlencode(uri)
        );
        let response = app
            .client
            .get(app.url(&format!("/logout?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{uri}");
        assert!(response.headers().get("location").is_none());
    }
    let no_client = format!("post_logout_redirect_uri={}", urlencode(APP_BYE));
    assert_eq!(
        app.client
            .get(app.url(&format!("/logout?{no_client}")))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let mismatch = format!("id_token_hint={id_token}&client_id=browser-ui");
    assert_eq!(
        app.client
            .get(app.url(&format!("/logout?{mismatch}")))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let garbage = app
        .client
        .get(app.url("/logout?id_token_hint=not-a-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);
    assert!(
        still_signed_in(&app).await,
        "none of these signed anyone out"
    );

    let other_browser = browser();
    let response = other_browser.get(app.url("/logout")).send().await.unwrap();
    assert!(
        response.text().await.unwrap().contains("signed out"),
        "no session: nothing to ask"
    );
}

#[tokio::test]
async fn discovery_advertises_the_end_session_endpoint() {
    let app = TestApp::spawn().await;
    let doc: Value = app
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["end_session_endpoint"],
        format!("{}/logout", crate::helpers::DEV_ISSUER)
    );
}

#[tokio::test]
async fn two_instances_on_one_database_share_the_session() {
    let a = TestApp::spawn().await;
    let b = a.spawn_sibling().await;
    signed_in(&a).await;
    // The same browser (cookie jar) goes to the other instance: it is signed in there too.
    let query = format!(
        "client_id=web&redirect_uri={}&response_type=code&scope=openid",
        urlencode(APP_CB)
    );
    let sso = b.authorize(&a.client, &query).await;
    assert_eq!(sso.status(), 302, "signed in at B without a password");
    assert!(query_of(&location(&sso)).contains_key("code"));

    // Signing out at A ends the session at B as well.
    let ask = a.client.get(a.url("/logout")).send().await.unwrap();
    let page = ask.text().await.unwrap();
    let confirm = a
        .client
        .post(a.url("/logout"))
        .form(&form_fields(&page))
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status(), 200);
    assert_eq!(
        b.authorize(&a.client, &query).await.status(),
        200,
        "B shows the form"
    );
}

#[tokio::test]
async fn clients_from_the_environment_may_return_to_their_home_page() {
    // The dev client (as ALLOWED_CLIENTS would make it): redirect http://localhost:5000/callback.
    let app = TestApp::spawn().await;
    app.add_user("alice", "pw").await;
    let to = app
        .sign_in(
            &app.client,
            &crate::helpers::gateway_query(""),
            "alice",
            "pw",
        )
        .await;
    let code = query_of(&to).remove("code").unwrap();
    let tokens: Value = app.redeem(&code).await.json().await.unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    let query = format!(
        "id_token_hint={id_token}&post_logout_redirect_uri={}&state=s",
        urlencode("http://localhost:5000/")
    );
    let response = app
        .client
        .get(app.url(&format!("/logout?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(location(&response), "http://localhost:5000/?state=s");
    // Anything else on that origin is still not registered.
    let query = format!(
        "id_token_hint={id_token}&post_logout_redirect_uri={}",
        urlencode("http://localhost:5000/elsewhere")
    );
    let response = app
        .client
        .get(app.url(&format!("/logout?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}
