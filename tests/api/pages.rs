//! The pages: branding (product name, logo and accent colour from the configuration), and
//! the sign-in form's behaviour for keyboard and screen-reader users.

use identity_backend::config::Mode;

use crate::helpers::{TestApp, browser, gateway_query};

const LOGO: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="teal"/></svg>"#;

#[tokio::test]
async fn name_logo_and_accent_colour_come_from_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("logo.svg");
    std::fs::write(&logo, LOGO).unwrap();
    let app = TestApp::spawn_with(
        Mode::Development,
        &[
            ("BRAND_NAME", "Acme Platform"),
            ("BRAND_LOGO_FILE", logo.to_str().unwrap()),
            ("BRAND_ACCENT_COLOR", "#FC0"),
        ],
    )
    .await;
    let page = app
        .authorize(&browser(), &gateway_query(""))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<title>Sign in · Acme Platform</title>"),
        "{page}"
    );
    let css_url = between(&page, r#"<link rel="stylesheet" href=""#, "\"");
    let logo_url = between(&page, r#"<img class="logo" src=""#, "\"");

    // The URLs are under the issuer; the test server listens elsewhere.
    let local = |url: &str| app.url(&url[url.find("/static/").unwrap()..]);
    let css = app.client.get(local(&css_url)).send().await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    let css = css.text().await.unwrap();
    assert!(
        css.contains("--accent: #ffcc00; --accent-text: #000000;"),
        "{css}"
    );

    let served = app.client.get(local(&logo_url)).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/svg+xml");
    assert!(
        served.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert_eq!(served.text().await.unwrap(), LOGO);

    // The default: no logo, our own colours, the product's name.
    let plain = TestApp::spawn().await;
    let page = plain
        .authorize(&browser(), &gateway_query(""))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("· identity-backend</title>") && !page.contains("class=\"logo\""));
    assert_eq!(plain.get("/static/logo").await.status(), 404);
}

#[tokio::test]
async fn a_failed_sign_in_keeps_the_name_announces_the_error_and_waits_in_the_password_field() {
    let app = TestApp::spawn().await;
    app.add_user("alice", "correct horse").await;
    let jar = browser();
    let page = app
        .authorize(&jar, &gateway_query(""))
        .await
        .text()
        .await
        .unwrap();
    // A fresh form: the cursor starts in the empty username field.
    assert!(tag(&page, r#"id="username""#).contains("autofocus"));
    assert!(!tag(&page, r#"id="password""#).contains("autofocus"));

    let failed = app.submit_login(&jar, &page, "alice", "wrong").await;
    assert_eq!(failed.status(), 401);
    let page = failed.text().await.unwrap();
    let username = tag(&page, r#"id="username""#);
    let password = tag(&page, r#"id="password""#);
    assert!(username.contains(r#"value="alice""#) && !username.contains("autofocus"));
    // The password is never sent back.
    assert!(password.contains("autofocus") && !password.contains("value="));
    // The error is announced at once and tied to both fields.
    let error = tag(&page, r#"id="form-error""#);
    assert!(error.contains(r#"role="alert""#), "{error}");
    assert!(username.contains(r#"aria-describedby="form-error""#));
    assert!(password.contains(r#"aria-describedby="form-error""#));
}

/// The whole start tag of the element carrying `attribute`.
fn tag(page: &str, attribute: &str) -> String {
    let at = page
        .find(attribute)
        .unwrap_or_else(|| panic!("{attribute} in {page}"));
    let start = page[..at].rfind('<').unwrap();
    let end = page[at..].find('>').unwrap() + at;
    page[start..=end].to_owned()
}

fn between(text: &str, start: &str, end: &str) -> String {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {text}"))
        + start.len();
    let to = text[from..].find(end).unwrap() + from;
    text[from..to].replace("&amp;", "&")
}
