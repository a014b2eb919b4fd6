//! The pages' branding: product name, logo and accent colour from the configuration.

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

fn between(text: &str, start: &str, end: &str) -> String {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {text}"))
        + start.len();
    let to = text[from..].find(end).unwrap() + from;
    text[from..to].replace("&amp;", "&")
}
