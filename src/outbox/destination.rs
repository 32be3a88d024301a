//! Where the outbox may send: an endpoint URL is `https`, or `http` to a
//! loopback host (local receivers in tests and development); and unless
//! `allow_private_destinations` is set, no request goes to a loopback,
//! private, link-local (cloud metadata), shared, multicast or otherwise
//! non-public address, whether the URL names it or DNS answers with it
//! (the client's resolver drops such answers, so a name cannot be pointed
//! at an inside address after the URL was accepted).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why a destination is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DestinationError {
    /// Not a URL.
    #[error("not a valid url")]
    NotAUrl,
    /// Neither https nor http to a loopback host.
    #[error("an endpoint url is https (http only to a loopback host)")]
    NotHttps,
    /// It carries a user name or password.
    #[error("an endpoint url carries no credentials")]
    Credentials,
    /// It names, or resolves only to, addresses that are not public.
    #[error("the destination is not a public address")]
    NotPublic,
}

/// An endpoint URL as accepted: parsed, scheme checked.
pub(crate) fn parse_endpoint_url(text: &str) -> Result<Url, DestinationError> {
    let url = Url::parse(text).map_err(|_invalid| DestinationError::NotAUrl)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(DestinationError::Credentials);
    }
    let host = url.host_str().ok_or(DestinationError::NotAUrl)?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback_host(host) => Ok(url),
        _ => Err(DestinationError::NotHttps),
    }
}

/// Whether a URL's host is a loopback name or address.
fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.eq_ignore_ascii_case("localhost") {
        return true;
    }
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Refuses a URL whose host is an address literal that is not public (a
/// literal is never resolved, so the resolver cannot catch it).
pub(crate) fn check_literal_host(url: &Url, allow_private: bool) -> Result<(), DestinationError> {
    if allow_private {
        return Ok(());
    }
    let host = url.host_str().unwrap_or_default();
    if host.eq_ignore_ascii_case("localhost") {
        return Err(DestinationError::NotPublic);
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) if !is_public(ip) => Err(DestinationError::NotPublic),
        _ => Ok(()),
    }
}

/// Whether an address is publicly routable.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(mapped) => is_public_v4(mapped),
            None => is_public_v6(ip),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [first, second, ..] = ip.octets();
    let shared = first == 100 && (64..128).contains(&second);
    let benchmarking = first == 198 && (second == 18 || second == 19);
    let reserved = first >= 240;
    let this_network = first == 0;
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || ip.is_unspecified()
        || shared
        || benchmarking
        || reserved
        || this_network)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    let unique_local = (first & 0xfe00) == 0xfc00;
    let link_local = (first & 0xffc0) == 0xfe80;
    let documentation = first == 0x2001 && ip.segments()[1] == 0x0db8;
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || unique_local
        || link_local
        || documentation)
}

/// The HTTP client's resolver: the system's answers, less the addresses that
/// are not public (unless private destinations are allowed).
#[derive(Debug, Clone, Copy)]
pub(crate) struct GuardedResolver {
    /// Whether loopback and private answers are kept.
    pub(crate) allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let answers: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|address| allow_private || is_public(address.ip()))
                .collect();
            if answers.is_empty() {
                return Err(Box::new(DestinationError::NotPublic) as _);
            }
            let addresses: Addrs = Box::new(answers.into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_is_accepted() {
        assert!(parse_endpoint_url("https://hooks.example.com/x").is_ok());
        assert!(parse_endpoint_url("http://127.0.0.1:8080/x").is_ok());
        assert!(parse_endpoint_url("http://localhost/x").is_ok());
        assert!(parse_endpoint_url("http://[::1]:9/x").is_ok());
        assert_eq!(
            parse_endpoint_url("http://hooks.example.com/x"),
            Err(DestinationError::NotHttps)
        );
        assert_eq!(
            parse_endpoint_url("ftp://hooks.example.com/x"),
            Err(DestinationError::NotHttps)
        );
        assert_eq!(
            parse_endpoint_url("https://user:pw@hooks.example.com/x"),
            Err(DestinationError::Credentials)
        );
        assert_eq!(
            parse_endpoint_url("not a url"),
            Err(DestinationError::NotAUrl)
        );
    }

    #[test]
    fn inside_addresses_are_refused_unless_allowed() {
        for inside in [
            "https://127.0.0.1/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://localhost/",
        ] {
            let url = parse_endpoint_url(inside).expect("well formed");
            assert_eq!(
                check_literal_host(&url, false),
                Err(DestinationError::NotPublic),
                "{inside}"
            );
            assert_eq!(check_literal_host(&url, true), Ok(()), "{inside}");
        }
        for outside in [
            "https://8.8.8.8/",
            "https://[2606:4700::1111]/",
            "https://example.com/",
        ] {
            let url = parse_endpoint_url(outside).expect("well formed");
            assert_eq!(check_literal_host(&url, false), Ok(()), "{outside}");
        }
    }

    #[tokio::test]
    async fn the_resolver_drops_inside_answers() {
        let guarded = GuardedResolver {
            allow_private: false,
        };
        let name: Name = "localhost".parse().expect("name");
        assert!(guarded.resolve(name).await.is_err());
        let open = GuardedResolver {
            allow_private: true,
        };
        let name: Name = "localhost".parse().expect("name");
        let answers: Vec<SocketAddr> = open.resolve(name).await.expect("resolves").collect();
        assert!(answers.iter().all(|address| address.ip().is_loopback()));
        assert!(!answers.is_empty());
    }
}
