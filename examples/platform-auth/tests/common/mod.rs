//! A local issuer for the tests: discovery and a JWKS served over real HTTP by axum, keys
//! generated with aws-lc-rs and tokens signed with them, independently of the code under test.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use platform_auth::JwksVerifier;
use serde_json::{Value, json};

/// The audience every test verifier expects.
pub const AUDIENCE: &str = "logging-service";

/// An issuer on 127.0.0.1 with a port of its own.
pub struct Issuer {
    /// `http://127.0.0.1:PORT`: the issuer identifier and base URL.
    pub url: String,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    keys: Mutex<Vec<Value>>,
    jwks_fetches: AtomicUsize,
    down: AtomicBool,
}

impl Issuer {
    /// Starts serving, with no keys yet.
    pub async fn spawn() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks.json", get(jwks))
            .with_state((url.clone(), shared.clone()));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, shared }
    }

    /// Publishes `key` (beside the keys already published).
    pub fn publish(&self, key: &SigningKey) {
        self.shared.keys.lock().unwrap().push(key.jwk());
    }

    /// Publishes a raw JWK.
    pub fn publish_raw(&self, jwk: Value) {
        self.shared.keys.lock().unwrap().push(jwk);
    }

    /// How many times the JWKS was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.shared.jwks_fetches.load(Ordering::SeqCst)
    }

    /// From now on, answer 503 (or, with `false`, serve again).
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    /// A verifier for this issuer and [`AUDIENCE`], refetching at most every `interval`.
    pub fn verifier(&self, interval: Duration) -> JwksVerifier {
        JwksVerifier::builder(&self.url, AUDIENCE)
            .min_refetch_interval(interval)
            .build()
            .unwrap()
    }

    /// Valid claims for this issuer and [`AUDIENCE`], for five minutes.
    pub fn claims(&self) -> Value {
        let now = now();
        json!({
            "iss": self.url, "sub": "careergpt-backend", "aud": AUDIENCE,
            "iat": now, "exp": now + 300, "scope": "logs:write",
        })
    }
}

type IssuerState = State<(String, Arc<Shared>)>;

async fn discovery(State((url, shared)): IssuerState) -> Response {
    if shared.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    Json(json!({"issuer": url, "jwks_uri": format!("{url}/jwks.json")})).into_response()
}

async fn jwks(State((_, shared)): IssuerState) -> Response {
    shared.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    if shared.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let keys = shared.keys.lock().unwrap().clone();
    (
        [("cache-control", "public, max-age=300")],
        Json(json!({ "keys": keys })),
    )
        .into_response()
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

enum Pair {
    Rsa(RsaKeyPair),
    Es256(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A private key with its `kid`.
pub struct SigningKey {
    /// Its key id.
    pub kid: String,
    pair: Pair,
}

impl SigningKey {
    /// A fresh RSA-2048 key (RS256).
    pub fn rsa(kid: &str) -> Self {
        let pair = Pair::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap());
        Self {
            kid: kid.into(),
            pair,
        }
    }

    /// A fresh P-256 key (ES256).
    pub fn es256(kid: &str) -> Self {
        let pair = Pair::Es256(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap());
        Self {
            kid: kid.into(),
            pair,
        }
    }

    /// A fresh Ed25519 key (EdDSA).
    pub fn ed25519(kid: &str) -> Self {
        let pair = Pair::Ed25519(Ed25519KeyPair::generate().unwrap());
        Self {
            kid: kid.into(),
            pair,
        }
    }

    /// Its algorithm, as a JWS `alg`.
    pub fn alg(&self) -> &'static str {
        match self.pair {
            Pair::Rsa(_) => "RS256",
            Pair::Es256(_) => "ES256",
            Pair::Ed25519(_) => "EdDSA",
        }
    }

    /// Its public JWK, with `kid`, `use` and `alg`, as identity-backend publishes them.
    pub fn jwk(&self) -> Value {
        let mut jwk = match &self.pair {
            Pair::Rsa(pair) => {
                let public = pair.public_key();
                json!({
                    "kty": "RSA",
                    "n": B64.encode(public.modulus().big_endian_without_leading_zero()),
                    "e": B64.encode(public.exponent().big_endian_without_leading_zero()),
                })
            }
            Pair::Es256(pair) => {
                // SEC 1 uncompressed point: 0x04 || x || y.
                let point = pair.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256",
                       "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65])})
            }
            Pair::Ed25519(pair) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": B64.encode(pair.public_key().as_ref())})
            }
        };
        jwk["kid"] = json!(self.kid);
        jwk["use"] = json!("sig");
        jwk["alg"] = json!(self.alg());
        jwk
    }

    /// A compact JWS of `claims` with the usual header (`alg`, `kid`, `typ`).
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(
            &json!({"alg": self.alg(), "kid": self.kid, "typ": "at+jwt"}),
            claims,
        )
    }

    /// A compact JWS with this header, signed with this key whatever the header says.
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let input = signing_input(header, claims);
        let signature = match &self.pair {
            Pair::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    input.as_bytes(),
                    &mut signature,
                )
                .unwrap();
                signature
            }
            Pair::Es256(pair) => pair
                .sign(&SystemRandom::new(), input.as_bytes())
                .unwrap()
                .as_ref()
                .to_vec(),
            Pair::Ed25519(pair) => pair.sign(input.as_bytes()).as_ref().to_vec(),
        };
        format!("{input}.{}", B64.encode(signature))
    }
}

/// `BASE64URL(header) "." BASE64URL(claims)` (RFC 7515 §5.1).
pub fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    )
}

/// A compact JWS signed with HMAC-SHA256 under `secret`.
pub fn sign_hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = signing_input(header, claims);
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", B64.encode(tag.as_ref()))
}
