//! The client's address, as every per-address limit sees it: the TCP peer, or,
//! when the peer is one of `http.trusted_proxies`, the rightmost address of
//! `Forwarded` (else `X-Forwarded-For`) that is not itself a trusted proxy.
//! Entries left of that one were written by the client and are never believed.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use super::AppState;
use super::error::ApiError;

/// The address per-address limits count the request under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientAddress(pub(crate) IpAddr);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ConnectInfo(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .copied()
            .ok_or_else(|| ApiError::internal(&"no peer address on the connection"))?;
        Ok(Self(resolve(
            peer.ip(),
            &parts.headers,
            &state.config.http.trusted_proxies,
        )))
    }
}

/// The client behind `peer` given the forwarding headers and the trusted proxies.
pub(crate) fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |address: &IpAddr| trusted.iter().any(|net| net.contains(address));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = forwarded_hops(headers);
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(address) = hop else {
            // An entry that is no address ("unknown", obfuscated): stop at the
            // last proxy that vouched for what is right of it.
            return client;
        };
        client = *address;
        if !is_trusted(address) {
            return client;
        }
    }
    client
}

/// The hops the proxies recorded, left (first) to right (nearest); `None` for an
/// entry that is not an address.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<&str> = header_values(headers, "forwarded");
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|value| value.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(name, _)| name.eq_ignore_ascii_case("for"))
                    .and_then(|(_, node)| parse_node(node))
            })
            .collect();
    }
    header_values(headers, "x-forwarded-for")
        .iter()
        .flat_map(|value| value.split(','))
        .map(parse_node)
        .collect()
}

fn header_values<'a>(headers: &'a HeaderMap, name: &str) -> Vec<&'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect()
}

/// An address written as `192.0.2.1`, `192.0.2.1:80`, `"[2001:db8::1]:80"` or `2001:db8::1`.
fn parse_node(node: &str) -> Option<IpAddr> {
    let unquoted = node.trim().trim_matches('"');
    if let Ok(address) = unquoted.parse::<IpAddr>() {
        return Some(address);
    }
    if let Ok(with_port) = unquoted.parse::<SocketAddr>() {
        return Some(with_port.ip());
    }
    unquoted
        .strip_prefix('[')
        .and_then(|rest| rest.split(']').next())
        .and_then(|inner| inner.parse().ok())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn proxies() -> Vec<IpNet> {
        vec![
            "10.0.0.0/8".parse().unwrap(),
            "2001:db8::/32".parse().unwrap(),
        ]
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let forged = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        assert_eq!(
            resolve(ip("198.51.100.9"), &forged, &proxies()),
            ip("198.51.100.9")
        );
        assert_eq!(resolve(ip("10.0.0.1"), &forged, &[]), ip("10.0.0.1"));
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.0.0.5")]);
        assert_eq!(
            resolve(ip("10.0.0.1"), &chain, &proxies()),
            ip("198.51.100.7")
        );
        let forwarded = headers(&[(
            "forwarded",
            "for=6.6.6.6, for=\"[2001:db9::1]:4711\";proto=https, for=10.0.0.5",
        )]);
        assert_eq!(
            resolve(ip("10.0.0.1"), &forwarded, &proxies()),
            ip("2001:db9::1")
        );
    }

    #[test]
    fn unknown_entries_and_missing_headers_stop_at_the_last_proxy() {
        let unknown = headers(&[("x-forwarded-for", "198.51.100.7, unknown")]);
        assert_eq!(
            resolve(ip("10.0.0.1"), &unknown, &proxies()),
            ip("10.0.0.1")
        );
        assert_eq!(
            resolve(ip("10.0.0.1"), &HeaderMap::new(), &proxies()),
            ip("10.0.0.1")
        );
    }
}
