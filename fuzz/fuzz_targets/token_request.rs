//! The token request (`identity_backend::oidc::token`): the `Authorization` header and form
//! body of `POST /token`.
//!
//! Input layout: `HEADER \n BODY`. The bytes before the first newline are the `Authorization`
//! header (absent if they are not UTF-8 or there is no newline), the rest the form body, parsed
//! as `Params`. `presented_client` and `parse_grant` run on them, and a `client_credentials`
//! grant goes on to `machine_grant` for fixed confidential and public registrations.
//! Must hold: nothing panics; a presented client agrees with any `client_id` in the body; an
//! assertion is only taken with the jwt-bearer type; a grant carries its required value; a
//! machine grant only gives registered scopes and audiences, and never to a public client.
#![no_main]

use std::sync::OnceLock;

use identity_backend::oidc::assertion::JWT_BEARER;
use identity_backend::oidc::client::{AuthMethod, ClientId, ClientType, GrantType, Registration};
use identity_backend::oidc::token::{
    Grant, PresentedClient, machine_grant, parse_grant, presented_client,
};
use identity_backend::oidc::{ErrorCode, Params, ScopeSet};
use libfuzzer_sys::fuzz_target;

fn registration(id: &str, client_type: ClientType, default_audience: Option<&str>) -> Registration {
    Registration {
        id: ClientId::parse(id).expect("fixed client id"),
        name: id.into(),
        client_type,
        auth_method: AuthMethod::ClientSecretBasic,
        secret_hash: None,
        redirect_uris: vec![],
        grant_types: vec![GrantType::ClientCredentials],
        scopes: ScopeSet::parse("openid api:read api:write").expect("fixed scopes"),
        audiences: vec!["https://api.example.com".into(), "billing".into()],
        default_audience: default_audience.map(str::to_owned),
        jwks: None,
        may_act_for: vec![],
        sealed_secret: None,
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        first_party: false,
    }
}

fn clients() -> &'static [Registration; 3] {
    static CLIENTS: OnceLock<[Registration; 3]> = OnceLock::new();
    CLIENTS.get_or_init(|| {
        [
            registration("svc", ClientType::Confidential, None),
            registration("svc2", ClientType::Confidential, Some("billing")),
            registration("spa", ClientType::Public, None),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let (authorization, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (std::str::from_utf8(&data[..i]).ok(), &data[i + 1..]),
        None => (None, data),
    };
    let Ok(params) = Params::from_urlencoded(body) else {
        return;
    };

    if let Ok(client) = presented_client(authorization, &params) {
        if let Some(body_id) = params.get("client_id") {
            assert_eq!(client.id(), body_id, "{client:?}");
        }
        assert_eq!(
            client.used_basic(),
            matches!(client, PresentedClient::Basic { .. })
        );
        match &client {
            PresentedClient::Basic { id, .. } => {
                assert!(authorization.is_some());
                assert!(!id.is_empty());
            }
            PresentedClient::Post { id, secret } => {
                assert_eq!(Some(id.as_str()), params.get("client_id"));
                assert_eq!(Some(secret.as_str()), params.get("client_secret"));
            }
            PresentedClient::Public { .. } => assert!(!params.has("client_secret")),
            PresentedClient::Assertion { assertion, .. } => {
                assert_eq!(params.get("client_assertion_type"), Some(JWT_BEARER));
                assert_eq!(params.get("client_assertion"), Some(assertion.as_str()));
                assert!(!params.has("client_secret"));
            }
        }
    }

    let Ok(grant) = parse_grant(&params) else {
        return;
    };
    match grant {
        Grant::AuthorizationCode { code, .. } => assert!(!code.is_empty()),
        Grant::RefreshToken { refresh_token, .. } => assert!(!refresh_token.is_empty()),
        Grant::ClientCredentials { scope, audience } => {
            for client in clients() {
                match machine_grant(client, scope.as_deref(), audience.as_deref()) {
                    Ok((granted, aud)) => {
                        assert_eq!(client.client_type, ClientType::Confidential);
                        assert!(granted.is_subset(&client.scopes), "{granted}");
                        assert!(client.audiences.contains(&aud), "{aud:?}");
                        if let Some(asked) = &audience {
                            assert_eq!(&aud, asked);
                        }
                    }
                    Err(e) if client.client_type == ClientType::Public => {
                        assert_eq!(e.code, ErrorCode::UnauthorizedClient);
                    }
                    Err(_) => {}
                }
            }
        }
    }
});
