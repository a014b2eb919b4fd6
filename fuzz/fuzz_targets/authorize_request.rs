//! The authorization request (`identity_backend::oidc::authorize`): the query of `/authorize`.
//!
//! The input is parsed as `Params`; `check_client_and_redirect` and `validate` then run against
//! two fixed registrations (a confidential and a public client, each with an https and a
//! loopback redirect URI), and a request that passes goes on to `authentication`,
//! `success_url` and `error_url`. Must hold: nothing panics; an accepted redirect URI is one of
//! the client's, byte for byte; an accepted request has `openid`, only scopes the client may
//! have, PKCE for a public client, no `prompt=none` with other values, a non-negative
//! `max_age`; response URLs start with the redirect URI.
#![no_main]

use std::sync::OnceLock;

use identity_backend::oidc::authorize::{
    authentication, check_client_and_redirect, error_url, success_url, validate,
};
use identity_backend::oidc::client::{AuthMethod, ClientId, ClientType, GrantType, Registration};
use identity_backend::oidc::{
    Issuer, OAuthError, Params, RedirectUri, RedirectUriPolicy, ScopeSet,
};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_700_000_000;

struct Fixture {
    clients: [Registration; 2],
    issuer: Issuer,
}

fn registration(id: &str, client_type: ClientType) -> Registration {
    let uri = |s: &str| {
        RedirectUri::parse(s, RedirectUriPolicy::AllowHttpLoopback).expect("fixed redirect URI")
    };
    Registration {
        id: ClientId::parse(id).expect("fixed client id"),
        name: id.into(),
        client_type,
        auth_method: match client_type {
            ClientType::Confidential => AuthMethod::ClientSecretBasic,
            ClientType::Public => AuthMethod::None,
        },
        secret_hash: None,
        redirect_uris: vec![
            uri("https://app.example.com/cb?tenant=1"),
            uri("http://127.0.0.1:8080/callback"),
        ],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: ScopeSet::parse("openid profile email offline_access").expect("fixed scopes"),
        audiences: vec![],
        default_audience: None,
        jwks: None,
        may_act_for: vec![],
        sealed_secret: None,
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        first_party: false,
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| Fixture {
        clients: [
            registration("web", ClientType::Confidential),
            registration("spa", ClientType::Public),
        ],
        issuer: Issuer::parse("https://id.example.com").expect("fixed issuer"),
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(params) = Params::from_urlencoded(data) else {
        return;
    };
    let f = fixture();
    assert!(check_client_and_redirect(&params, None).is_err());
    for client in &f.clients {
        let Ok(redirect_uri) = check_client_and_redirect(&params, Some(client)) else {
            continue;
        };
        assert!(
            client
                .redirect_uris
                .iter()
                .any(|r| r.as_str() == redirect_uri),
            "accepted an unregistered redirect_uri {redirect_uri:?}"
        );
        let denied = OAuthError::invalid_request("fuzz");
        let url = error_url(&redirect_uri, &denied, params.get("state"), &f.issuer);
        assert!(url.starts_with(&redirect_uri), "{url}");

        let Ok(request) = validate(&params, client, redirect_uri.clone()) else {
            continue;
        };
        assert_eq!(request.redirect_uri, redirect_uri);
        assert_eq!(request.client_id, client.id.as_str());
        let scope = ScopeSet::parse(&request.scope).expect("granted scope parses");
        assert!(scope.contains("openid"), "{}", request.scope);
        assert!(scope.is_subset(&client.scopes), "{}", request.scope);
        if client.client_type == ClientType::Public {
            assert!(
                request.code_challenge.is_some(),
                "public client without PKCE"
            );
        }
        if let Some(challenge) = &request.code_challenge {
            assert_eq!(challenge.len(), 43, "{challenge:?}");
        }
        assert!(
            !(request.prompt.none && (request.prompt.login || request.prompt.consent)),
            "{:?}",
            request.prompt
        );
        assert!(request.max_age.is_none_or(|age| age >= 0));
        assert_eq!(request.state.as_deref(), params.get("state"));

        for auth_time in [None, Some(NOW), Some(0), Some(i64::MIN), Some(i64::MAX)] {
            let _ = authentication(&request, auth_time, NOW);
        }
        let url = success_url(&request, "the-code", &f.issuer);
        assert!(url.starts_with(&redirect_uri), "{url}");
    }
});
