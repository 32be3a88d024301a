//! PROXY protocol v2 on the public listener (`http.proxy_protocol`): a TCP load
//! balancer (an AWS NLB, HAProxy, Envoy) that does not speak HTTP puts the
//! client's address in a binary header before the connection's first byte.
//! [`ProxiedListener`] accepts connections, reads each one's header on a task
//! of its own (a slow or silent peer never holds up the accept loop) and hands
//! axum the connection with the client's address as its peer, so every
//! per-address limit counts the real client.
//!
//! Only peers in `http.trusted_proxies` may send a header (anyone else could
//! name any address): a connection from another peer, one without a valid v2
//! header within [`HEADER_TIMEOUT`], or with a header over [`MAX_HEADER_BYTES`]
//! is closed without an answer. A `LOCAL` header (the balancer's own health
//! check) or one without an IP address keeps the TCP peer as the client.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ipnet::IpNet;
use ppp::v2::{Addresses, Command, Header};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long a trusted proxy has to send the header.
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest header read (the fixed 16 bytes plus addresses and TLVs).
pub(crate) const MAX_HEADER_BYTES: usize = 4096;
/// Bytes before a v2 header's variable part: signature, version and command,
/// family and protocol, length.
const FIXED_BYTES: usize = 16;
/// The 12 bytes every v2 header starts with.
const SIGNATURE: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";
/// Connections whose header was read, waiting for axum to take them.
const READY_QUEUE: usize = 1024;

/// The public listener behind a PROXY protocol load balancer.
#[derive(Debug)]
pub(crate) struct ProxiedListener {
    /// The bound address.
    local: SocketAddr,
    /// Connections with their client's address, header read.
    ready: mpsc::Receiver<(TcpStream, SocketAddr)>,
    /// The task accepting and reading headers; stopped with the listener.
    acceptor: JoinHandle<()>,
}

impl ProxiedListener {
    /// Accepts on `listener`, taking headers only from `trusted` peers.
    pub(crate) fn new(listener: TcpListener, trusted: Vec<IpNet>) -> io::Result<Self> {
        let local = listener.local_addr()?;
        let (sender, ready) = mpsc::channel(READY_QUEUE);
        let acceptor = tokio::spawn(accept_loop(listener, trusted, sender));
        Ok(Self {
            local,
            ready,
            acceptor,
        })
    }
}

impl Drop for ProxiedListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

impl axum::serve::Listener for ProxiedListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The acceptor only ends when the listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

async fn accept_loop(
    listener: TcpListener,
    trusted: Vec<IpNet>,
    ready: mpsc::Sender<(TcpStream, SocketAddr)>,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if !trusted.iter().any(|net| net.contains(&peer.ip())) {
            tracing::debug!("connection from a peer that is not a trusted proxy closed");
            continue;
        }
        let ready = ready.clone();
        tokio::spawn(async move {
            let mut stream = stream;
            match tokio::time::timeout(HEADER_TIMEOUT, client_of(&mut stream, peer)).await {
                Ok(Ok(client)) => {
                    let _closing = ready.send((stream, client)).await;
                }
                Ok(Err(error)) => tracing::debug!(%error, "PROXY header refused"),
                Err(_) => tracing::debug!("no PROXY header in time"),
            }
        });
    }
}

/// Reads the v2 header at the start of `stream` and returns the client it
/// names (the TCP peer for `LOCAL` or an address that is not IP).
async fn client_of(stream: &mut TcpStream, peer: SocketAddr) -> io::Result<SocketAddr> {
    let mut header = vec![0; FIXED_BYTES];
    stream.read_exact(&mut header).await?;
    if !header.starts_with(SIGNATURE) {
        return Err(invalid("no PROXY protocol v2 signature"));
    }
    let rest = usize::from(u16::from_be_bytes([header[14], header[15]]));
    if FIXED_BYTES + rest > MAX_HEADER_BYTES {
        return Err(invalid("header too long"));
    }
    header.resize(FIXED_BYTES + rest, 0);
    stream.read_exact(&mut header[FIXED_BYTES..]).await?;
    client_in_header(&header, peer)
}

/// The client a complete v2 header names.
fn client_in_header(bytes: &[u8], peer: SocketAddr) -> io::Result<SocketAddr> {
    let header = Header::try_from(bytes).map_err(|error| invalid(&error.to_string()))?;
    if header.command == Command::Local {
        return Ok(peer);
    }
    Ok(match header.addresses {
        Addresses::IPv4(addresses) => {
            SocketAddr::new(IpAddr::V4(addresses.source_address), addresses.source_port)
        }
        Addresses::IPv6(addresses) => {
            SocketAddr::new(IpAddr::V6(addresses.source_address), addresses.source_port)
        }
        Addresses::Unspecified | Addresses::Unix(_) => peer,
    })
}

fn invalid(problem: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, problem.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> SocketAddr {
        "10.0.0.9:40000".parse().unwrap()
    }

    /// A v2 header written by hand from the specification.
    fn header(command: u8, family: u8, addresses: &[u8]) -> Vec<u8> {
        let mut bytes = SIGNATURE.to_vec();
        bytes.push(0x20 | command);
        bytes.push(family);
        bytes.extend_from_slice(&u16::try_from(addresses.len()).unwrap().to_be_bytes());
        bytes.extend_from_slice(addresses);
        bytes
    }

    #[test]
    fn a_proxy_header_names_the_client() {
        let mut v4 = vec![203, 0, 113, 7, 10, 0, 0, 1];
        v4.extend_from_slice(&51_000_u16.to_be_bytes());
        v4.extend_from_slice(&443_u16.to_be_bytes());
        let client = client_in_header(&header(0x1, 0x11, &v4), peer()).unwrap();
        assert_eq!(client, "203.0.113.7:51000".parse().unwrap());

        let mut v6 = Vec::new();
        v6.extend_from_slice(
            &"2001:db8::5"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
        );
        v6.extend_from_slice(
            &"2001:db8::1"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
        );
        v6.extend_from_slice(&[0xc3, 0x50, 0x01, 0xbb]);
        let client = client_in_header(&header(0x1, 0x21, &v6), peer()).unwrap();
        assert_eq!(client, "[2001:db8::5]:50000".parse().unwrap());
    }

    #[test]
    fn a_local_header_keeps_the_peer_and_garbage_is_refused() {
        assert_eq!(
            client_in_header(&header(0x0, 0x00, &[]), peer()).unwrap(),
            peer()
        );
        assert!(client_in_header(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", peer()).is_err());
        let mut wrong_version = header(0x1, 0x11, &[0; 12]);
        wrong_version[12] = 0x11;
        assert!(client_in_header(&wrong_version, peer()).is_err());
    }
}
