use super::*;
use crate::oidc::client::{AuthMethod, ClientId};
use crate::oidc::{RedirectUri, RedirectUriPolicy};

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn client(client_type: ClientType) -> Registration {
    Registration {
        id: ClientId::parse("web").unwrap_or_else(|_| unreachable!()),
        name: "Web".into(),
        client_type,
        auth_method: AuthMethod::ClientSecretBasic,
        secret_hash: None,
        redirect_uris: vec![
            RedirectUri::parse(
                "https://app.example.com/cb?tenant=1",
                RedirectUriPolicy::HttpsOnly,
            )
            .unwrap_or_else(|_| unreachable!()),
        ],
        grant_types: vec![GrantType::AuthorizationCode],
        scopes: ScopeSet::parse("openid profile email").unwrap_or_default(),
        audiences: vec![],
        default_audience: None,
        jwks: None,
        may_act_for: vec![],
        sealed_secret: None,
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        first_party: true,
        id_token_alg: None,
        access_token_alg: None,
    }
}

fn params(query: &str) -> Params {
    Params::from_urlencoded(query.as_bytes()).unwrap_or_default()
}

const OK: &str = "client_id=web&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb%3Ftenant%3D1&response_type=code&scope=openid%20profile&state=s1&nonce=n1";

#[test]
fn a_good_request_is_accepted() {
    let c = client(ClientType::Confidential);
    let p = params(OK);
    let (_, uri) = check_client_and_redirect(&p, Some(&c)).expect("a registered client and URI");
    let request = validate(&p, &c, uri).map_err(|e| e.to_string());
    let request = request.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(request.scope, "openid profile");
    assert_eq!(request.state.as_deref(), Some("s1"));
    assert_eq!(request.nonce.as_deref(), Some("n1"));
}

#[test]
fn client_and_redirect_errors_are_never_redirected() {
    let c = client(ClientType::Confidential);
    assert!(check_client_and_redirect(&params(OK), None::<&Registration>).is_err());
    for bad in [
        "redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb",
        "redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb%3Ftenant%3D1%2F",
        "redirect_uri=https%3A%2F%2Fevil.example.com%2Fcb%3Ftenant%3D1",
        "",
    ] {
        assert!(
            check_client_and_redirect(&params(bad), Some(&c)).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn later_errors_carry_their_codes() {
    let c = client(ClientType::Confidential);
    let public = client(ClientType::Public);
    let cases: Vec<(&Registration, String, ErrorCode)> = vec![
        (
            &c,
            OK.replace("response_type=code", "response_type=token"),
            ErrorCode::UnsupportedResponseType,
        ),
        (
            &c,
            OK.replace("response_type=code", ""),
            ErrorCode::InvalidRequest,
        ),
        (
            &c,
            OK.replace("scope=openid%20profile", "scope=profile"),
            ErrorCode::InvalidScope,
        ),
        (
            &c,
            OK.replace("scope=openid%20profile", "scope=openid%20admin"),
            ErrorCode::InvalidScope,
        ),
        (
            &c,
            format!("{OK}&code_challenge={CHALLENGE}&code_challenge_method=plain"),
            ErrorCode::InvalidRequest,
        ),
        (
            &c,
            format!("{OK}&code_challenge={CHALLENGE}"),
            ErrorCode::InvalidRequest,
        ),
        (&public, OK.to_owned(), ErrorCode::InvalidRequest),
        (
            &c,
            format!("{OK}&prompt=none%20login"),
            ErrorCode::InvalidRequest,
        ),
        (&c, format!("{OK}&max_age=-1"), ErrorCode::InvalidRequest),
        (
            &c,
            format!("{OK}&request=eyJ"),
            ErrorCode::RequestNotSupported,
        ),
        (
            &c,
            format!("{OK}&response_mode=fragment"),
            ErrorCode::InvalidRequest,
        ),
    ];
    for (client, query, expected) in cases {
        let got = validate(
            &params(&query),
            client,
            "https://app.example.com/cb?tenant=1".into(),
        )
        .err()
        .map(|e| e.code);
        assert_eq!(got, Some(expected), "{query}");
    }
    let with_pkce = format!("{OK}&code_challenge={CHALLENGE}&code_challenge_method=S256");
    assert!(
        validate(
            &params(&with_pkce),
            &public,
            "https://app.example.com/cb?tenant=1".into()
        )
        .is_ok()
    );
}

#[test]
fn sessions_are_reused_unless_the_request_says_otherwise() {
    let c = client(ClientType::Confidential);
    let req = |extra: &str| {
        validate(
            &params(&format!("{OK}{extra}")),
            &c,
            "https://app.example.com/cb?tenant=1".into(),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(
        authentication(&req(""), Some(100), 200),
        Authentication::UseSession
    );
    assert_eq!(authentication(&req(""), None, 200), Authentication::AskUser);
    assert_eq!(
        authentication(&req("&prompt=login"), Some(100), 200),
        Authentication::AskUser
    );
    assert_eq!(
        authentication(&req("&prompt=none"), None, 200),
        Authentication::LoginRequired
    );
    assert_eq!(
        authentication(&req("&prompt=none"), Some(100), 200),
        Authentication::UseSession
    );
    assert_eq!(
        authentication(&req("&max_age=100"), Some(100), 200),
        Authentication::UseSession
    );
    assert_eq!(
        authentication(&req("&max_age=99"), Some(100), 200),
        Authentication::AskUser
    );
    assert_eq!(
        authentication(&req("&max_age=99&prompt=none"), Some(100), 200),
        Authentication::LoginRequired
    );
}

#[test]
fn responses_keep_the_registered_query_and_carry_iss() {
    let issuer = Issuer::parse("https://id.example.com").unwrap_or_else(|_| unreachable!());
    let c = client(ClientType::Confidential);
    let request = validate(
        &params(OK),
        &c,
        "https://app.example.com/cb?tenant=1".into(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        success_url(&request, "abc", &issuer),
        "https://app.example.com/cb?tenant=1&code=abc&state=s1&iss=https%3A%2F%2Fid.example.com"
    );
    let error = OAuthError::new(ErrorCode::LoginRequired, "sign in first");
    assert_eq!(
        error_url("https://app.example.com/cb", &error, Some("a b&c"), &issuer),
        "https://app.example.com/cb?error=login_required&error_description=sign+in+first&state=a+b%26c&iss=https%3A%2F%2Fid.example.com"
    );
}
