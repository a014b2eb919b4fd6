//! `/authorize` and `/login`: validation order, the sign-in page, SSO, two tabs.

use identity_backend::config::Mode;
use identity_backend::crypto::SecretString;
use identity_backend::oidc::ClientType;
use identity_backend::service::admin::{ClientSpec, add_client};

use crate::helpers::client_spec;
use crate::helpers::{
    CLIENT_ID, DEV_ISSUER, REDIRECT_URI, TestApp, browser, form_fields, gateway_query, location,
    query_of, urlencode,
};

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

async fn register(app: &TestApp, id: &str, name: &str, client_type: ClientType, redirect: &str) {
    let spec = ClientSpec {
        name: Some(name.into()),
        client_type,
        redirect_uris: vec![redirect.into()],
        secret: (client_type == ClientType::Confidential)
            .then(|| SecretString::new(format!("{id}-Kx8vQ2mZ7pL4wN9rT3yB6cF1hJ5sD0gA"))),
        ..client_spec(id)
    };
    add_client(&app.state.db, &app.clock, &app.state.config, spec)
        .await
        .unwrap();
}

#[tokio::test]
async fn bad_client_or_redirect_uri_shows_a_page_and_never_redirects() {
    let app = TestApp::spawn().await;
    let cb = urlencode(REDIRECT_URI);
    let cases = [
        format!("client_id=nope&redirect_uri={cb}&response_type=code&scope=openid"),
        format!("redirect_uri={cb}&response_type=code&scope=openid"),
        format!("client_id={CLIENT_ID}&response_type=code&scope=openid"),
        format!(
            "client_id={CLIENT_ID}&client_id=other&redirect_uri={cb}&response_type=code&scope=openid"
        ),
        format!(
            "client_id={CLIENT_ID}&redirect_uri={cb}&redirect_uri={cb}&response_type=code&scope=openid"
        ),
    ];
    let bypasses = [
        "http://localhost:5000/callback/",
        "http://LOCALHOST:5000/callback",
        "http://localhost:5000/callback?x=1",
        "http://localhost:5000/callback/../evil",
        "http://localhost:5000/callback%2F..%2Fevil",
        "http://localhost:5000@evil.example.com/callback",
        "http://localhost:5000.evil.example.com/callback",
        "http://localhost:5000/Callback",
        "http://localhost:5000/callback#x",
        "https://localhost:5000/callback",
        "http://localhost/callback",
        "//evil.example.com/callback",
    ];
    let mut all: Vec<String> = cases.to_vec();
    all.extend(bypasses.iter().map(|b| {
        format!(
            "client_id={CLIENT_ID}&redirect_uri={}&response_type=code&scope=openid",
            urlencode(b)
        )
    }));
    for query in all {
        let response = app.authorize(&app.client, &query).await;
        assert_eq!(response.status(), 400, "{query}");
        assert!(
            response.headers().get("location").is_none(),
            "no redirect for {query}"
        );
        let html = response.text().await.unwrap();
        assert!(html.contains("This sign-in link is not valid"), "{query}");
        // Plain words first; the protocol's reason only below, for the administrator.
        let lead = html
            .split("<p class=\"lead\">")
            .nth(1)
            .and_then(|rest| rest.split("</p>").next())
            .unwrap_or_default();
        assert!(lead.starts_with("The application "), "{query}: {lead}");
        assert!(!lead.contains("client_id") && !lead.contains("redirect_uri"));
        // Each explanation only where it is true: an unknown client, a registered client's
        // unregistered address; a missing or repeated parameter is neither.
        let expected = if query.starts_with("client_id=nope&") {
            "is not registered with this sign-in service"
        } else if query.starts_with(&format!("client_id={CLIENT_ID}&redirect_uri="))
            && query.matches("redirect_uri=").count() == 1
        {
            "an address it has not registered"
        } else {
            "a sign-in request that cannot be answered"
        };
        assert!(lead.contains(expected), "{query}: {lead}");
        assert!(
            html.contains("For the application's administrator: <code>"),
            "{query}"
        );
    }
}

#[tokio::test]
async fn later_errors_go_back_to_the_client_with_state_and_iss() {
    let app = TestApp::spawn().await;
    register(
        &app,
        "spa",
        "SPA",
        ClientType::Public,
        "http://localhost:3000/cb",
    )
    .await;
    let cases = [
        (
            gateway_query("").replace("response_type=code", "response_type=token"),
            "unsupported_response_type",
        ),
        (
            gateway_query("").replace("&response_type=code", ""),
            "invalid_request",
        ),
        (
            gateway_query("").replace("scope=openid", "scope=profile"),
            "invalid_scope",
        ),
        (
            gateway_query("").replace("scope=openid", "scope=openid%20admin"),
            "invalid_scope",
        ),
        (
            gateway_query(&format!(
                "code_challenge={CHALLENGE}&code_challenge_method=plain"
            )),
            "invalid_request",
        ),
        (
            gateway_query(&format!("code_challenge={CHALLENGE}")),
            "invalid_request",
        ),
        (
            gateway_query("code_challenge=short&code_challenge_method=S256"),
            "invalid_request",
        ),
        (gateway_query("prompt=none"), "login_required"),
        (gateway_query("prompt=none%20login"), "invalid_request"),
        (gateway_query("max_age=soon"), "invalid_request"),
        (
            gateway_query("request=eyJhbGciOiJub25lIn0.e30."),
            "request_not_supported",
        ),
        (
            gateway_query("").replace("&scope=openid", ""),
            "invalid_scope",
        ),
    ];
    for (query, error) in cases {
        let response = app.authorize(&app.client, &query).await;
        assert_eq!(response.status(), 302, "{query}");
        let to = location(&response);
        assert!(to.starts_with(&format!("{REDIRECT_URI}?")), "{to}");
        let params = query_of(&to);
        assert_eq!(
            params.get("error").map(String::as_str),
            Some(error),
            "{query} -> {to}"
        );
        assert!(
            params
                .get("error_description")
                .is_some_and(|d| !d.is_empty())
        );
        assert_eq!(
            params.get("state").map(String::as_str),
            Some("st-1"),
            "{query}"
        );
        assert_eq!(params.get("iss").map(String::as_str), Some(DEV_ISSUER));
        assert!(!params.contains_key("code"));
    }
    let spa = format!(
        "client_id=spa&redirect_uri={}&response_type=code&scope=openid&state=s",
        urlencode("http://localhost:3000/cb")
    );
    let response = app.authorize(&app.client, &spa).await;
    assert_eq!(
        query_of(&location(&response))["error"],
        "invalid_request",
        "public clients need PKCE"
    );
    let with_pkce = format!("{spa}&code_challenge={CHALLENGE}&code_challenge_method=S256");
    assert_eq!(app.authorize(&app.client, &with_pkce).await.status(), 200);
}

#[tokio::test]
async fn the_sign_in_page_is_safe_and_self_contained() {
    let app = TestApp::spawn().await;
    register(
        &app,
        "xss",
        "<img src=x onerror=alert(1)> & Co",
        ClientType::Confidential,
        "http://localhost:7000/cb",
    )
    .await;
    let query = format!(
        "client_id=xss&redirect_uri={}&response_type=code&scope=openid&login_hint={}",
        urlencode("http://localhost:7000/cb"),
        urlencode("\"><script>alert(1)</script>")
    );
    let response = app.authorize(&app.client, &query).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(
        csp.contains("form-action 'self' http://localhost:7000"),
        "the post-login redirect is allowed: {csp}"
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let html = response.text().await.unwrap();
    assert!(
        html.contains("&#60;img src=x onerror=alert(1)&#62; &#38; Co"),
        "the client name is escaped"
    );
    assert!(
        !html.contains("<img src=x") && !html.contains("<script>"),
        "no markup from input"
    );
    assert!(!html.contains("<script"), "no JavaScript at all");
    assert!(
        html.contains(r#"<label for="username">"#) && html.contains(r#"<label for="password">"#)
    );
    assert!(
        html.contains(&format!(r#"action="{DEV_ISSUER}/login""#)),
        "the form posts to /login under the issuer"
    );
    // Under the issuer, versioned by its content (it is cached for a day).
    assert!(html.contains(&format!(r#"href="{DEV_ISSUER}/static/idp.css?v="#)));
    let fields = form_fields(&html);
    for name in ["username", "password", "csrf_token", "request_id"] {
        assert!(fields.contains_key(name), "{name}");
    }
    let css = app.get("/static/idp.css").await;
    assert_eq!(css.status(), 200);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_the_same() {
    let app = TestApp::spawn().await;
    app.add_user("alice", "correct horse").await;
    let mut answers = Vec::new();
    for (user, password) in [("alice", "wrong"), ("nobody", "correct horse"), ("", "")] {
        let page = app
            .authorize(&app.client, &gateway_query(""))
            .await
            .text()
            .await
            .unwrap();
        let response = app.submit_login(&app.client, &page, user, password).await;
        assert_eq!(response.status(), 401, "{user}");
        assert!(response.headers().get("location").is_none());
        let html = response.text().await.unwrap();
        assert!(html.contains("The username or password is not correct."));
        assert!(
            !html.contains(password) || password.is_empty(),
            "the password is not echoed"
        );
        answers.push(html.replace(user, "USER"));
    }
    let normalise = |s: &str| {
        form_fields(s)
            .remove("csrf_token")
            .map(|_| s.split("request_id").next().unwrap_or("").to_owned())
    };
    assert_eq!(
        normalise(&answers[0]),
        normalise(&answers[1]),
        "same page for both failures"
    );
}

#[tokio::test]
async fn csrf_and_expired_requests_are_refused() {
    let app = TestApp::spawn().await;
    app.add_user("alice", "pw").await;
    let page = app
        .authorize(&app.client, &gateway_query(""))
        .await
        .text()
        .await
        .unwrap();
    let mut fields = form_fields(&page);
    fields.insert("username".into(), "alice".into());
    fields.insert("password".into(), "pw".into());
    for tamper in ["csrf_token", "request_id"] {
        let mut bad = fields.clone();
        bad.insert(tamper.into(), "forged".into());
        let response = app
            .client
            .post(app.url("/login"))
            .form(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{tamper}");
        assert!(response.headers().get("location").is_none());
    }
    // The same form from another browser (no session): a cross-site post.
    let response = browser()
        .post(app.url("/login"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    // The genuine form still works.
    let response = app
        .client
        .post(app.url("/login"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
}

#[tokio::test]
async fn success_renews_the_session_and_returns_code_state_and_iss() {
    let app = TestApp::spawn().await;
    app.add_user("alice", "pw").await;
    let first = app.authorize(&app.client, &gateway_query("")).await;
    let cookie = |r: &reqwest::Response| {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("idp_session="))
            .map(str::to_owned)
    };
    let before = cookie(&first).expect("a session cookie with the pending request");
    assert!(
        before.contains("HttpOnly") && before.contains("SameSite=Lax") && before.contains("Path=/"),
        "{before}"
    );
    assert!(!before.contains("Secure"), "plain http in dev");
    let page = first.text().await.unwrap();
    let done = app.submit_login(&app.client, &page, "ALICE", "pw").await;
    assert_eq!(done.status(), 303);
    let after = cookie(&done).expect("a new session cookie");
    assert_ne!(
        before.split(';').next(),
        after.split(';').next(),
        "the session id changes at sign-in"
    );
    let to = location(&done);
    assert!(to.starts_with(&format!("{REDIRECT_URI}?code=")), "{to}");
    let params = query_of(&to);
    assert_eq!(params["state"], "st-1");
    assert_eq!(params["iss"], DEV_ISSUER);
    assert_eq!(params["code"].len(), 43);
}

#[tokio::test]
async fn https_issuers_get_host_prefixed_secure_cookies() {
    let app = TestApp::spawn_with(Mode::Production, &[]).await;
    register(
        &app,
        "web",
        "Web",
        ClientType::Confidential,
        "https://app.example.com/cb",
    )
    .await;
    let query = format!(
        "client_id=web&redirect_uri={}&response_type=code&scope=openid",
        urlencode("https://app.example.com/cb")
    );
    let response = app.authorize(&app.client, &query).await;
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("__Host-idp_session="), "{cookie}");
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain="), "{cookie}");
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000",
        "https issuers keep browsers on https"
    );
    let dev = TestApp::spawn().await;
    let ping = dev.get("/ping").await;
    assert!(
        ping.headers().get("strict-transport-security").is_none(),
        "not over http"
    );
}

#[tokio::test]
async fn single_sign_on_across_clients_and_prompts() {
    let app = TestApp::spawn().await;
    app.add_user("alice", "pw").await;
    register(
        &app,
        "second-app",
        "Second App",
        ClientType::Confidential,
        "http://localhost:6000/cb",
    )
    .await;
    app.sign_in(&app.client, &gateway_query(""), "alice", "pw")
        .await;

    let second = format!(
        "client_id=second-app&redirect_uri={}&response_type=code&scope=openid&state=b",
        urlencode("http://localhost:6000/cb")
    );
    let response = app.authorize(&app.client, &second).await;
    assert_eq!(
        response.status(),
        302,
        "signed in already: straight back with a code"
    );
    assert!(query_of(&location(&response)).contains_key("code"));

    let silent = app
        .authorize(&app.client, &format!("{second}&prompt=none"))
        .await;
    assert!(
        query_of(&location(&silent)).contains_key("code"),
        "prompt=none with a session"
    );

    for forcing in ["prompt=login", "max_age=0"] {
        app.clock.advance(std::time::Duration::from_secs(2));
        let response = app
            .authorize(&app.client, &format!("{second}&{forcing}"))
            .await;
        assert_eq!(response.status(), 200, "{forcing} shows the form again");
    }
    let recent = app
        .authorize(&app.client, &format!("{second}&max_age=3600"))
        .await;
    assert_eq!(recent.status(), 302, "a recent enough sign-in");

    // Another browser has no session.
    let other = browser();
    assert_eq!(app.authorize(&other, &second).await.status(), 200);
}

#[tokio::test]
async fn two_tabs_sign_in_to_two_clients() {
    let app = TestApp::spawn().await;
    app.add_user("alice", "pw").await;
    register(
        &app,
        "second-app",
        "Second App",
        ClientType::Confidential,
        "http://localhost:6000/cb",
    )
    .await;
    let tab_a = app
        .authorize(&app.client, &gateway_query(""))
        .await
        .text()
        .await
        .unwrap();
    let second = format!(
        "client_id=second-app&redirect_uri={}&response_type=code&scope=openid&state=b",
        urlencode("http://localhost:6000/cb")
    );
    let tab_b = app
        .authorize(&app.client, &second)
        .await
        .text()
        .await
        .unwrap();
    assert!(tab_b.contains("Second App"));

    let b = app.submit_login(&app.client, &tab_b, "alice", "pw").await;
    assert!(
        location(&b).starts_with("http://localhost:6000/cb?code="),
        "tab B goes to its client"
    );
    let a = app.submit_login(&app.client, &tab_a, "alice", "pw").await;
    let to = location(&a);
    assert!(
        to.starts_with(&format!("{REDIRECT_URI}?code=")),
        "tab A goes to its own client: {to}"
    );
    assert_eq!(query_of(&to)["state"], "st-1");
}

#[tokio::test]
async fn cancel_returns_access_denied() {
    let app = TestApp::spawn().await;
    let page = app
        .authorize(&app.client, &gateway_query(""))
        .await
        .text()
        .await
        .unwrap();
    let mut fields = form_fields(&page);
    fields.insert("action".into(), "cancel".into());
    let response = app
        .client
        .post(app.url("/login"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    let params = query_of(&location(&response));
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "st-1");
}

#[tokio::test]
async fn authorize_accepts_post_and_logout_ends_the_session() {
    let app = TestApp::spawn().await;
    app.add_user("alice", "pw").await;
    app.sign_in(&app.client, &gateway_query(""), "alice", "pw")
        .await;
    let post = app
        .client
        .post(app.url("/authorize"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(gateway_query(""))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 303, "POST /authorize with a session");

    // Without an id_token_hint, /logout asks first; the confirmation signs out.
    let ask = app.get("/logout").await;
    assert_eq!(ask.status(), 200);
    let page = ask.text().await.unwrap();
    assert!(page.contains("Sign out?"));
    let out = app
        .client
        .post(app.url("/logout"))
        .form(&form_fields(&page))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 200);
    assert!(out.text().await.unwrap().contains("signed out"));
    let again = app.authorize(&app.client, &gateway_query("")).await;
    assert_eq!(again.status(), 200, "the login form again after logout");
}

#[tokio::test]
async fn disabled_users_cannot_sign_in_and_lose_their_session() {
    use identity_backend::service::admin::{AccountState, set_account_state};
    let app = TestApp::spawn().await;
    app.add_user("alice", "pw").await;
    app.sign_in(&app.client, &gateway_query(""), "alice", "pw")
        .await;
    set_account_state(&app.state.db, &app.clock, "alice", AccountState::Disabled)
        .await
        .unwrap();
    let response = app.authorize(&app.client, &gateway_query("")).await;
    assert_eq!(
        response.status(),
        200,
        "the session no longer signs in a disabled user"
    );
    let page = response.text().await.unwrap();
    let retry = app.submit_login(&app.client, &page, "alice", "pw").await;
    assert_eq!(retry.status(), 401);
}
