//! Client sockets for many sessions on one machine: each socket is bound to one of
//! many loopback source addresses (127.0.x.y all reach the machine) with
//! `IP_BIND_ADDRESS_NO_PORT` (set through nix: socket2 0.6 has no setter for it), so the port is chosen at connect time per
//! destination and one source address is not limited to its ~28k ephemeral
//! ports. Also raises the open-file limit, which caps sockets per process, and
//! resolves the server's address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpSocket, TcpStream};

/// Files a process keeps for itself besides its sockets (stdio, runtime, logs,
/// the store in the server).
pub(crate) const RESERVED_FILES: u64 = 200;

/// The `n`-th source address: 127.0.(1 + n / 250).(1 + n % 250), avoiding .0 and
/// .255 in the last octet.
pub(crate) fn source_address(n: u32, addresses: u32) -> IpAddr {
    let slot = n % addresses.max(1);
    let third = 1 + slot / 250;
    let fourth = 1 + slot % 250;
    IpAddr::V4(Ipv4Addr::new(
        127,
        0,
        u8::try_from(third).unwrap_or(255),
        u8::try_from(fourth).unwrap_or(1),
    ))
}

/// Connects to `server` from `source` (port chosen at connect time).
pub(crate) async fn connect_from(source: IpAddr, server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    nix::sys::socket::setsockopt(
        &socket,
        nix::sys::socket::sockopt::IpBindAddressNoPort,
        &true,
    )
    .map_err(std::io::Error::from)?;
    socket.bind(&SocketAddr::new(source, 0).into())?;
    socket.set_nonblocking(true)?;
    socket.set_tcp_nodelay(true)?;
    let stream = TcpSocket::from_std_stream(std::net::TcpStream::from(socket));
    stream.connect(server).await
}

/// The open-file limits after raising the soft one to the hard one: `(soft, hard)`.
pub(crate) fn raise_open_file_limit() -> (u64, u64) {
    let (soft, hard) = rlimit::Resource::NOFILE.get().unwrap_or((1024, 1024));
    if soft >= hard {
        return (soft, hard);
    }
    match rlimit::Resource::NOFILE.set(hard, hard) {
        Ok(()) => (hard, hard),
        Err(error) => {
            tracing::warn!(%error, soft, hard, "cannot raise the open-file limit");
            (soft, hard)
        }
    }
}

/// Sockets one process can hold under an open-file limit.
pub(crate) fn sockets_allowed(open_file_limit: u64) -> u64 {
    open_file_limit.saturating_sub(RESERVED_FILES)
}

/// Whether a host name or address is on the loopback network (load runs stay on
/// this machine).
pub(crate) fn is_loopback_host(host: &str) -> bool {
    if host == "localhost" {
        return true;
    }
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok_and(|address| address.is_loopback())
}

/// The socket address of a `ws://host:port/...` URL.
pub(crate) async fn resolve(ws_url: &str) -> Result<SocketAddr, String> {
    let without_scheme = ws_url
        .strip_prefix("ws://")
        .ok_or_else(|| format!("{ws_url}: only ws:// URLs are supported"))?;
    let authority = without_scheme.split('/').next().unwrap_or_default();
    let mut addresses = tokio::net::lookup_host(authority)
        .await
        .map_err(|error| format!("cannot resolve {authority}: {error}"))?;
    addresses
        .find(SocketAddr::is_ipv4)
        .ok_or_else(|| format!("{authority} has no IPv4 address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_addresses_stay_in_loopback_and_skip_zero() {
        for n in 0..2_000 {
            let IpAddr::V4(address) = source_address(n, 1_000) else {
                panic!("v4 only");
            };
            assert!(address.is_loopback());
            assert_ne!(address.octets()[3], 0);
            assert_ne!(address.octets()[2], 0);
        }
        assert_eq!(source_address(0, 64), source_address(64, 64));
    }

    #[test]
    fn only_loopback_hosts_are_accepted() {
        assert!(is_loopback_host("127.0.0.1"));
        assert!(is_loopback_host("127.3.2.1"));
        assert!(is_loopback_host("localhost"));
        assert!(is_loopback_host("[::1]"));
        assert!(!is_loopback_host("10.0.0.1"));
        assert!(!is_loopback_host("example.com"));
    }
}
