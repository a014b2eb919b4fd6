//! The gateway's configuration, from the environment.

use std::net::SocketAddr;

use anyhow::{Context, bail};
use openidconnect::{ClientId, ClientSecret, IssuerUrl, PostLogoutRedirectUrl, RedirectUrl};
use url::Url;

/// How the gateway authenticates at the token endpoint (OIDC Core §9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic with the client id and secret.
    SecretBasic,
    /// `client_id` and `client_secret` in the form body.
    SecretPost,
}

/// What the gateway is configured with.
#[derive(Debug)]
pub struct Config {
    /// The provider's issuer identifier (`ISSUER`).
    pub issuer: IssuerUrl,
    /// Where server-to-server calls to the provider go instead of the issuer's URL
    /// (`PROVIDER_INTERNAL_URL`; unset: the issuer's).
    pub provider_internal_url: Option<String>,
    /// Our client id (`CLIENT_ID`).
    pub client_id: ClientId,
    /// Our client secret (`CLIENT_SECRET`); none for a public client (PKCE alone).
    pub client_secret: Option<ClientSecret>,
    /// How the secret is sent (`CLIENT_AUTH_METHOD`).
    pub client_auth: ClientAuth,
    /// Our own public URL (`BASE_URL`), without a trailing slash.
    pub base_url: String,
    /// `BASE_URL` + `/callback`, as registered with the provider.
    pub redirect_url: RedirectUrl,
    /// `BASE_URL` + `/`, as registered with the provider.
    pub post_logout_redirect_url: PostLogoutRedirectUrl,
    /// Where to listen (`BIND_ADDR`).
    pub bind_addr: SocketAddr,
    /// The resource server's base URL (`RESOURCE_URL`), without a trailing slash.
    pub resource_url: Option<String>,
    /// The name shown on our pages (`APP_NAME`).
    pub app_name: String,
    /// The session cookie's name: one per app and port, since browsers share cookies between
    /// the ports of a host (RFC 6265 §8.5), and never the provider's `idp_session`.
    pub cookie_name: String,
    /// Whether cookies get `Secure` (an https `BASE_URL`).
    pub secure_cookies: bool,
}

impl Config {
    /// Reads the environment; fails with the variable's name.
    pub fn from_env() -> anyhow::Result<Self> {
        let issuer = IssuerUrl::new(required("ISSUER")?).context("ISSUER must be a URL")?;
        let provider_internal_url = var("PROVIDER_INTERNAL_URL")
            .map(|url| {
                Url::parse(&url).context("PROVIDER_INTERNAL_URL must be a URL")?;
                Ok::<_, anyhow::Error>(url)
            })
            .transpose()?;
        let client_id = ClientId::new(required("CLIENT_ID")?);
        let client_secret = var("CLIENT_SECRET").map(ClientSecret::new);
        let client_auth = match var("CLIENT_AUTH_METHOD").as_deref() {
            None | Some("client_secret_basic") => ClientAuth::SecretBasic,
            Some("client_secret_post") => ClientAuth::SecretPost,
            Some(other) => bail!(
                "CLIENT_AUTH_METHOD must be client_secret_basic or client_secret_post, not {other:?}"
            ),
        };
        let base = Url::parse(&required("BASE_URL")?).context("BASE_URL must be a URL")?;
        if base.query().is_some() || base.fragment().is_some() {
            bail!("BASE_URL must have no query or fragment");
        }
        let base_url = base.as_str().trim_end_matches('/').to_owned();
        let redirect_url = RedirectUrl::new(format!("{base_url}/callback"))
            .context("BASE_URL + /callback must be a URL")?;
        let post_logout_redirect_url = PostLogoutRedirectUrl::new(format!("{base_url}/"))
            .context("BASE_URL + / must be a URL")?;
        let bind_addr = var("BIND_ADDR")
            .unwrap_or_else(|| "127.0.0.1:5000".into())
            .parse()
            .context("BIND_ADDR must be HOST:PORT")?;
        let resource_url = var("RESOURCE_URL")
            .map(|url| {
                Url::parse(&url).context("RESOURCE_URL must be a URL")?;
                Ok::<_, anyhow::Error>(url.trim_end_matches('/').to_owned())
            })
            .transpose()?;
        let app_name = var("APP_NAME").unwrap_or_else(|| "gateway".into());
        let port = base.port_or_known_default().unwrap_or(80);
        let cookie_name = format!("{}_{port}_session", cookie_safe(&app_name));
        Ok(Self {
            issuer,
            provider_internal_url,
            client_id,
            client_secret,
            client_auth,
            base_url,
            redirect_url,
            post_logout_redirect_url,
            bind_addr,
            resource_url,
            secure_cookies: base.scheme() == "https",
            app_name,
            cookie_name,
        })
    }
}

/// A non-empty environment variable.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

fn required(name: &str) -> anyhow::Result<String> {
    var(name).with_context(|| format!("{name} must be set"))
}

/// `name` reduced to the characters a cookie name may safely hold.
fn cookie_safe(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() {
        "gateway".into()
    } else {
        safe
    }
}

#[cfg(test)]
mod tests {
    use super::cookie_safe;

    #[test]
    fn cookie_names_hold_only_safe_characters() {
        assert_eq!(cookie_safe("shop"), "shop");
        assert_eq!(cookie_safe("My App; x=1"), "My_App__x_1");
        assert_eq!(cookie_safe(""), "gateway");
    }
}
