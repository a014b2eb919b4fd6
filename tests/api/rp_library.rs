//! The whole authorization-code flow driven by an independent, certified-grade client
//! library (`openidconnect`, ramosbugs/openidconnect-rs) as the relying party: discovery,
//! the authorization URL, the code exchange, ID token verification against our JWKS,
//! `at_hash`, nonce binding and userinfo. Only the browser part (the sign-in form) is ours.

use identity_backend::oidc::ClientType;
use identity_backend::service::admin::{ClientSpec, add_client};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreIdTokenClaims,
    CoreProviderMetadata, CoreTokenResponse, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, SubjectIdentifier, TokenResponse, UserInfoError,
};

use crate::helpers::client_spec;
use crate::helpers::{
    CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, TestApp, browser, location, query_of,
};

/// A public client registered for these tests.
const PUBLIC_CLIENT_ID: &str = "rp-library-spa";
/// Its redirect URI.
const PUBLIC_REDIRECT_URI: &str = "http://localhost:3000/callback";

/// The user every flow signs in as.
const USERNAME: &str = "alice";
const PASSWORD: &str = "correct horse battery staple";

/// A client built from discovery: authorization endpoint set, token and userinfo endpoints
/// as discovery gave them.
type RelyingParty = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The HTTP client the library uses: it must not follow redirects (SSRF, per the crate's docs).
fn library_http_client() -> openidconnect::reqwest::Client {
    crate::helpers::tls_provider();
    openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .expect("client")
}

/// The issuer, as the library sees it: the app's real address.
fn issuer(app: &TestApp) -> IssuerUrl {
    IssuerUrl::new(app.address.clone()).expect("issuer URL")
}

/// The provider as the library discovers it from `{issuer}/.well-known/openid-configuration`
/// (and the JWKS it names), with every check the library makes (issuer equality included).
async fn discover(app: &TestApp, http: &openidconnect::reqwest::Client) -> CoreProviderMetadata {
    CoreProviderMetadata::discover_async(issuer(app), http)
        .await
        .unwrap_or_else(|e| panic!("discovery refused by the library: {e:?}"))
}

/// A relying party built from discovery, with `secret` (none for a public client).
async fn relying_party(
    app: &TestApp,
    http: &openidconnect::reqwest::Client,
    client_id: &str,
    secret: Option<&str>,
    redirect_uri: &str,
) -> RelyingParty {
    let metadata = discover(app, http).await;
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.to_owned()),
        secret.map(|s| ClientSecret::new(s.to_owned())),
    )
    .set_redirect_uri(RedirectUrl::new(redirect_uri.to_owned()).expect("redirect URL"))
}

/// What the browser part of a flow hands back to the relying party.
struct Callback {
    code: AuthorizationCode,
    state: String,
    iss: Option<String>,
    redirect_to: String,
}

/// Drives the browser through `auth_url` (from the library) and the sign-in form, and reads
/// the code, state and `iss` from the redirect back to the client.
async fn browse_and_sign_in(app: &TestApp, auth_url: &url::Url) -> Callback {
    let browser = browser();
    let page = browser
        .get(auth_url.as_str())
        .send()
        .await
        .expect("request sent");
    assert_eq!(page.status(), 200, "the sign-in page for {auth_url}");
    let html = page.text().await.expect("HTML");
    let done = app.submit_login(&browser, &html, USERNAME, PASSWORD).await;
    assert_eq!(done.status(), 303, "signed in and sent back to the client");
    let redirect_to = location(&done);
    let query = query_of(&redirect_to);
    assert!(
        !query.contains_key("error"),
        "the provider answered an error: {redirect_to}"
    );
    Callback {
        code: AuthorizationCode::new(query.get("code").expect("a code").clone()),
        state: query.get("state").expect("the state back").clone(),
        iss: query.get("iss").cloned(),
        redirect_to,
    }
}

async fn app_with_alice() -> TestApp {
    let app = TestApp::spawn_with_real_issuer(&[]).await;
    app.add_user(USERNAME, PASSWORD).await;
    app
}

async fn register_public_client(app: &TestApp) {
    let spec = ClientSpec {
        name: Some("RP library SPA".into()),
        client_type: ClientType::Public,
        redirect_uris: vec![PUBLIC_REDIRECT_URI.into()],
        ..client_spec(PUBLIC_CLIENT_ID)
    };
    add_client(&app.state.db, &app.clock, &app.state.config, spec)
        .await
        .expect("public client registered");
}

/// Checks the ID token's claims and `at_hash` with the library, and returns the claims.
fn verified_claims<'t>(
    client: &RelyingParty,
    tokens: &'t CoreTokenResponse,
    nonce: &Nonce,
) -> &'t CoreIdTokenClaims {
    let id_token = tokens
        .id_token()
        .expect("an ID token in the token response");
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, nonce)
        .unwrap_or_else(|e| panic!("the library refused our ID token: {e:?}"));
    let expected = claims
        .access_token_hash()
        .expect("at_hash in an ID token issued with an access token");
    let alg = id_token.signing_alg().expect("a signing alg");
    let key = id_token
        .signing_key(&verifier)
        .expect("the signing key, found in our JWKS by kid");
    let actual =
        AccessTokenHash::from_token(tokens.access_token(), alg, key).expect("at_hash computed");
    assert_eq!(
        actual, *expected,
        "at_hash binds the ID token to this access token"
    );
    claims
}

#[tokio::test]
async fn a_confidential_client_completes_the_flow_with_the_library() {
    let app = app_with_alice().await;
    let http = library_http_client();
    let client = relying_party(&app, &http, CLIENT_ID, Some(CLIENT_SECRET), REDIRECT_URI).await;

    let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf_state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(pkce_challenge)
        .url();
    assert!(
        auth_url.as_str().starts_with(&app.url("/authorize?")),
        "the library sends the browser to our authorization endpoint: {auth_url}"
    );

    let callback = browse_and_sign_in(&app, &auth_url).await;
    assert!(
        callback
            .redirect_to
            .starts_with(&format!("{REDIRECT_URI}?")),
        "back to the registered redirect URI: {}",
        callback.redirect_to
    );
    assert_eq!(&callback.state, csrf_state.secret(), "the CSRF state back");
    assert_eq!(
        callback.iss.as_deref(),
        Some(app.address.as_str()),
        "RFC 9207 iss equals the issuer"
    );

    let tokens: CoreTokenResponse = client
        .exchange_code(callback.code)
        .expect("a token endpoint from discovery")
        .set_pkce_verifier(pkce_verifier)
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("the library's code exchange failed: {e:?}"));
    assert!(
        !tokens.access_token().secret().is_empty(),
        "an access token"
    );

    let claims = verified_claims(&client, &tokens, &nonce);
    assert_eq!(claims.issuer().as_str(), app.address);
    assert_eq!(
        claims
            .audiences()
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
        [CLIENT_ID]
    );
    assert_eq!(
        claims.nonce().map(Nonce::secret),
        Some(nonce.secret()),
        "our nonce in the ID token"
    );
    assert!(claims.auth_time().is_some(), "auth_time");
    assert_eq!(
        claims.preferred_username().map(|u| u.as_str()),
        Some(USERNAME)
    );
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some(format!("{USERNAME}@example.com").as_str())
    );
    assert!(
        claims.email_verified().is_some(),
        "email_verified with the email scope"
    );
    assert_eq!(
        claims.name().and_then(|n| n.get(None)).map(|n| n.as_str()),
        Some(format!("User {USERNAME}").as_str())
    );

    // Userinfo through the library, which also checks the subject is the ID token's.
    let subject = claims.subject().clone();
    let userinfo: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), Some(subject.clone()))
        .expect("a userinfo endpoint from discovery")
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("the library's userinfo request failed: {e:?}"));
    assert_eq!(
        userinfo.subject(),
        &subject,
        "userinfo sub is the ID token's"
    );
    assert_eq!(
        userinfo.preferred_username().map(|u| u.as_str()),
        Some(USERNAME)
    );
    assert_eq!(
        userinfo.email().map(|e| e.as_str()),
        Some(format!("{USERNAME}@example.com").as_str())
    );

    // And the library refuses userinfo for someone else: the check above is not vacuous.
    let someone_else: Result<CoreUserInfoClaims, _> = client
        .user_info(
            tokens.access_token().clone(),
            Some(SubjectIdentifier::new("someone-else".into())),
        )
        .expect("a userinfo endpoint from discovery")
        .request_async(&http)
        .await;
    match someone_else {
        Err(UserInfoError::ClaimsVerification(ClaimsVerificationError::InvalidSubject(_))) => {}
        Err(e) => panic!("userinfo refused, but not for the subject: {e:?}"),
        Ok(_) => panic!("userinfo accepted for a subject it was not about"),
    }
}

#[tokio::test]
async fn a_public_client_with_pkce_completes_the_flow_and_a_wrong_verifier_fails() {
    let app = app_with_alice().await;
    register_public_client(&app).await;
    let http = library_http_client();
    let client = relying_party(&app, &http, PUBLIC_CLIENT_ID, None, PUBLIC_REDIRECT_URI).await;

    let flow = || {
        let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
        let (auth_url, csrf_state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("email".into()))
            .set_pkce_challenge(pkce_challenge)
            .url();
        (auth_url, csrf_state, nonce, pkce_verifier)
    };

    // The right verifier: tokens come back and verify.
    let (auth_url, csrf_state, nonce, pkce_verifier) = flow();
    let callback = browse_and_sign_in(&app, &auth_url).await;
    assert!(
        callback
            .redirect_to
            .starts_with(&format!("{PUBLIC_REDIRECT_URI}?")),
        "back to the public client: {}",
        callback.redirect_to
    );
    assert_eq!(&callback.state, csrf_state.secret());
    assert_eq!(callback.iss.as_deref(), Some(app.address.as_str()));
    let tokens: CoreTokenResponse = client
        .exchange_code(callback.code)
        .expect("a token endpoint from discovery")
        .set_pkce_verifier(pkce_verifier)
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("the library's public-client exchange failed: {e:?}"));
    assert!(
        !tokens.access_token().secret().is_empty(),
        "an access token"
    );
    let claims = verified_claims(&client, &tokens, &nonce);
    assert_eq!(
        claims
            .audiences()
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
        [PUBLIC_CLIENT_ID]
    );
    assert_eq!(
        claims.preferred_username().map(|u| u.as_str()),
        Some(USERNAME)
    );

    // A wrong verifier (well-formed, 43+ characters, but not the one challenged): refused.
    let (auth_url, _, _, _right_verifier) = flow();
    let callback = browse_and_sign_in(&app, &auth_url).await;
    let wrong =
        PkceCodeVerifier::new("wrong-verifier-0123456789-abcdefghijklmnopqrstuvwxyz".into());
    let refused = client
        .exchange_code(callback.code)
        .expect("a token endpoint from discovery")
        .set_pkce_verifier(wrong)
        .request_async(&http)
        .await;
    match refused {
        Err(RequestTokenError::ServerResponse(e)) => assert_eq!(
            *e.error(),
            CoreErrorResponseType::InvalidGrant,
            "a wrong PKCE verifier is invalid_grant: {e:?}"
        ),
        Err(other) => panic!("expected an invalid_grant error response, got {other:?}"),
        Ok(tokens) => panic!("a wrong PKCE verifier was accepted: {tokens:?}"),
    }
}

#[tokio::test]
async fn the_library_refuses_an_id_token_for_another_nonce() {
    let app = app_with_alice().await;
    let http = library_http_client();
    let client = relying_party(&app, &http, CLIENT_ID, Some(CLIENT_SECRET), REDIRECT_URI).await;

    let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, _csrf_state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(pkce_challenge)
        .url();
    let callback = browse_and_sign_in(&app, &auth_url).await;
    let tokens: CoreTokenResponse = client
        .exchange_code(callback.code)
        .expect("a token endpoint from discovery")
        .set_pkce_verifier(pkce_verifier)
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("the library's code exchange failed: {e:?}"));
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = client.id_token_verifier();

    let other = Nonce::new_random();
    assert_ne!(other.secret(), nonce.secret());
    match id_token.claims(&verifier, &other) {
        Err(ClaimsVerificationError::InvalidNonce(_)) => {}
        Err(e) => panic!("refused, but not for the nonce: {e:?}"),
        Ok(_) => panic!("an ID token was accepted for a nonce it was not issued for"),
    }
    // The refusal is about the nonce alone: the nonce the flow sent verifies.
    id_token
        .claims(&verifier, &nonce)
        .unwrap_or_else(|e| panic!("the library refused our ID token: {e:?}"));
}

/// A confidential client that asked for `alg` ID and access tokens, completing the flow with
/// the library; the library is told to accept only `alg`, so a token signed otherwise fails.
async fn flow_with_id_token_alg(alg: identity_backend::crypto::KeyAlg) {
    use openidconnect::core::CoreJwsSigningAlgorithm;
    const SECRET: &str = "alg-client-Kx8vQ2mZ7pL4wN9rT3yB6cF1hJ5sD0";
    let app = app_with_alice().await;
    let client_id = format!("rp-{}", alg.as_str().to_lowercase());
    let redirect_uri = "https://rp.example/cb";
    let spec = ClientSpec {
        redirect_uris: vec![redirect_uri.into()],
        secret: Some(identity_backend::crypto::SecretString::new(SECRET)),
        id_token_alg: Some(alg),
        access_token_alg: Some(alg),
        ..client_spec(&client_id)
    };
    add_client(&app.state.db, &app.clock, &app.state.config, spec)
        .await
        .expect("client registered");
    // Registering created the algorithm's first key in the database; the instance publishes
    // it at its next key reload (KEYS_RELOAD_SECONDS), which this stands in for.
    identity_backend::service::keys::signing_key(&app.state, alg)
        .await
        .expect("the new algorithm's key is loaded");
    let http = library_http_client();
    let client = relying_party(&app, &http, &client_id, Some(SECRET), redirect_uri).await;
    let (auth_url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .url();
    let callback = browse_and_sign_in(&app, &auth_url).await;
    let tokens: CoreTokenResponse = client
        .exchange_code(callback.code)
        .expect("a token endpoint from discovery")
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("the library's code exchange failed: {e:?}"));
    let library_alg = match alg {
        identity_backend::crypto::KeyAlg::Rs256 => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        identity_backend::crypto::KeyAlg::Es256 => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        identity_backend::crypto::KeyAlg::EdDsa => CoreJwsSigningAlgorithm::EdDsa,
    };
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(vec![library_alg.clone()]);
    let claims = id_token
        .claims(&verifier, &nonce)
        .unwrap_or_else(|e| panic!("the library refused our {alg} ID token: {e:?}"));
    assert_eq!(id_token.signing_alg().expect("alg"), &library_alg);
    let key = id_token
        .signing_key(&verifier)
        .expect("our JWKS has the key");
    let actual = AccessTokenHash::from_token(tokens.access_token(), &library_alg, key)
        .expect("at_hash computed");
    assert_eq!(
        Some(&actual),
        claims.access_token_hash(),
        "at_hash with the hash of {alg}"
    );
    // The access token is signed the same way, and our own endpoints accept it.
    let access = tokens.access_token().secret();
    assert_eq!(crate::helpers::header_of(access)["alg"], alg.as_str());
    let (status, body) = app
        .verify(&serde_json::json!({ "token": access, "aud": client_id }))
        .await;
    assert_eq!(status, 200, "{body}");
    let userinfo: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .expect("a userinfo endpoint from discovery")
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("userinfo with an {alg} access token: {e:?}"));
    assert_eq!(userinfo.subject(), claims.subject());
    // A verifier that takes only RS256 refuses it: the algorithm really is the one asked for.
    let rs256_only = client
        .id_token_verifier()
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
    assert!(id_token.claims(&rs256_only, &nonce).is_err());
}

#[tokio::test]
async fn es256_id_and_access_tokens_pass_the_library() {
    flow_with_id_token_alg(identity_backend::crypto::KeyAlg::Es256).await;
}

#[tokio::test]
async fn eddsa_id_and_access_tokens_pass_the_library() {
    flow_with_id_token_alg(identity_backend::crypto::KeyAlg::EdDsa).await;
}
