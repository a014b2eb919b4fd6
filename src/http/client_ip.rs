//! Who is asking: the client's IP, from the socket, or from `X-Forwarded-For` when (and only
//! when) the socket's peer is one of `TRUSTED_PROXIES`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

/// The client's IP address, as far as we can tell; a request extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl std::fmt::Display for ClientIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The client of a request whose socket peer is `peer`: walking `X-Forwarded-For` from the
/// right (the hop nearest us), every address added by a trusted proxy is skipped; the first
/// one that is not is the client. A header from an untrusted peer is ignored: anyone can
/// write one.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            // A malformed entry: stop at the last address we could trust.
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// Adds [`ClientIp`] to every request (before anything logs or limits it).
pub fn tag(trusted: Arc<Vec<IpNet>>) -> impl Fn(Request) -> Request + Clone {
    move |mut request: Request| {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        if let Some(peer) = peer {
            let ip = client_ip(peer, request.headers(), &trusted);
            request.extensions_mut().insert(ClientIp(ip));
        }
        request
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Served without connection info (a router in a unit test): the unspecified address.
        Ok(parts
            .extensions
            .get::<ClientIp>()
            .copied()
            .unwrap_or(ClientIp(IpAddr::from([0, 0, 0, 0]))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", value.parse().unwrap());
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_peer() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let spoofed = xff("1.2.3.4");
        assert_eq!(
            client_ip(ip("203.0.113.9"), &spoofed, &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(client_ip(ip("10.0.0.2"), &spoofed, &trusted), ip("1.2.3.4"));
        assert_eq!(
            client_ip(ip("10.0.0.2"), &HeaderMap::new(), &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(client_ip(ip("127.0.0.1"), &spoofed, &[]), ip("127.0.0.1"));
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // The client wrote a fake first entry; our proxies appended the real ones.
        let chain = xff("6.6.6.6, 198.51.100.7, 10.0.0.5");
        assert_eq!(
            client_ip(ip("10.0.0.2"), &chain, &trusted),
            ip("198.51.100.7")
        );
        let garbage = xff("6.6.6.6, not-an-ip, 10.0.0.5");
        assert_eq!(
            client_ip(ip("10.0.0.2"), &garbage, &trusted),
            ip("10.0.0.5")
        );
        let v6 = xff("2001:db8::1");
        assert_eq!(client_ip(ip("10.0.0.2"), &v6, &trusted), ip("2001:db8::1"));
    }
}
