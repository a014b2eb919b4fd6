//! The HTTP client for server-to-server calls to the provider (discovery, JWKS, token
//! endpoint), which may reach it at an address of its own: in a container network the issuer
//! the browser sees (`http://localhost:5002`) is not where the provider answers
//! (`http://identity-backend:5002`). The issuer itself is unchanged and is still what every
//! token's `iss` must be.

use std::future::Future;
use std::pin::Pin;

use openidconnect::{AsyncHttpClient, HttpClientError, HttpRequest, HttpResponse};

/// reqwest, with URLs under the issuer sent to the internal URL instead, when there is one.
#[derive(Clone, Debug)]
pub struct ProviderHttp {
    http: reqwest::Client,
    /// The issuer with a trailing slash: only URLs under it are rerouted.
    public: String,
    /// The internal base URL with a trailing slash (`PROVIDER_INTERNAL_URL`).
    internal: Option<String>,
}

impl ProviderHttp {
    /// Calls to URLs under `issuer` go to `internal` instead (when set).
    pub fn new(http: reqwest::Client, issuer: &str, internal: Option<&str>) -> Self {
        let slashed = |url: &str| format!("{}/", url.trim_end_matches('/'));
        Self {
            http,
            public: slashed(issuer),
            internal: internal.map(slashed),
        }
    }

    /// Where a call to `url` really goes.
    pub fn route(&self, url: &str) -> String {
        match &self.internal {
            Some(internal) => match url.strip_prefix(&self.public) {
                Some(rest) => format!("{internal}{rest}"),
                None if url == self.public.trim_end_matches('/') => internal.clone(),
                None => url.to_owned(),
            },
            None => url.to_owned(),
        }
    }
}

impl<'c> AsyncHttpClient<'c> for ProviderHttp {
    type Error = HttpClientError<reqwest::Error>;
    type Future =
        Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + Sync + 'c>>;

    fn call(&'c self, mut request: HttpRequest) -> Self::Future {
        if self.internal.is_some() {
            match self.route(&request.uri().to_string()).parse() {
                Ok(uri) => *request.uri_mut() = uri,
                Err(error) => {
                    let error = HttpClientError::Other(format!("internal provider URL: {error}"));
                    return Box::pin(async move { Err(error) });
                }
            }
        }
        self.http.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::ProviderHttp;

    #[test]
    fn only_urls_under_the_issuer_are_rerouted() {
        // reqwest is built without a TLS provider of its own.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let http = reqwest::Client::new();
        let routed = ProviderHttp::new(
            http.clone(),
            "http://localhost:5002",
            Some("http://identity-backend:5002/"),
        );
        assert_eq!(
            routed.route("http://localhost:5002/.well-known/openid-configuration"),
            "http://identity-backend:5002/.well-known/openid-configuration"
        );
        assert_eq!(
            routed.route("http://localhost:5002/token"),
            "http://identity-backend:5002/token"
        );
        assert_eq!(
            routed.route("http://localhost:50021/token"),
            "http://localhost:50021/token"
        );
        assert_eq!(
            routed.route("https://elsewhere.example/jwks"),
            "https://elsewhere.example/jwks"
        );
        let direct = ProviderHttp::new(http, "http://localhost:5002", None);
        assert_eq!(
            direct.route("http://localhost:5002/token"),
            "http://localhost:5002/token"
        );
    }
}
