//! The API's HTTP/1.1 connections, served with hyper directly rather than with
//! `axum::serve`, for two limits `axum::serve` does not set:
//!
//! - **Header read timeout.** `axum::serve` gives hyper no timer, so hyper's
//!   header read timeout never runs: a client sending its headers a byte every
//!   few seconds (slowloris), or nothing at all, held its socket for ever. Here
//!   every request head must arrive within `http.header_read_timeout_seconds`
//!   (counted from the accept for the first, from the previous answer for the
//!   next on a kept-alive connection); then the connection is closed.
//! - **Connections per client address.** Each accepted socket takes a place in
//!   its client address's count (`http.max_connections_per_ip`) and holds it
//!   until the socket closes, also after a WebSocket upgrade (the place travels
//!   with the socket); beyond the limit a socket is closed as soon as it is
//!   accepted, before anything is read from it. Reconnecting does not help: the
//!   count is the address's, not a socket's.
//!
//! Each connection gets `ConnectInfo<SocketAddr>` (the TCP peer, or the PROXY
//! header's source) as `into_make_service_with_connect_info` would give it.
//! Shutdown follows `axum::serve`: stop accepting when `stop` is cancelled,
//! ask every connection to finish its current request and close, and return
//! once all have (the caller bounds the wait with its shutdown grace).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use ipnet::IpNet;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::config::HttpConfig;
use crate::gateway::address_slots::{AddressSlot, AddressSlots};
use crate::tls::ReloadingAcceptor;

/// Why a connection was closed by the server before it was served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectionRefusal {
    /// Its client address already held `http.max_connections_per_ip`.
    PerAddressLimit,
}

impl ConnectionRefusal {
    /// The metric label.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ConnectionRefusal::PerAddressLimit => "per_address_limit",
        }
    }
}

/// Why the server closed a connection it was serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectionClose {
    /// No complete request head within `http.header_read_timeout_seconds`.
    HeaderTimeout,
    /// No TLS handshake within `http.header_read_timeout_seconds`.
    TlsHandshakeTimeout,
    /// The TLS handshake failed (plain HTTP on the TLS port, a client that
    /// does not trust the certificate, no common protocol version).
    TlsHandshakeFailed,
}

impl ConnectionClose {
    /// The metric label.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ConnectionClose::HeaderTimeout => "header_timeout",
            ConnectionClose::TlsHandshakeTimeout => "tls_handshake_timeout",
            ConnectionClose::TlsHandshakeFailed => "tls_handshake_failed",
        }
    }
}

/// The limits every API connection is held to.
#[derive(Debug)]
pub(crate) struct ConnectionLimits {
    /// Time a client has to send each request head.
    header_read_timeout: Duration,
    /// Open connections per client address.
    per_address: Arc<AddressSlots>,
    /// Peers not counted: reverse proxies, each carrying many clients, when
    /// their connections do not start with a PROXY header naming the client.
    uncounted_peers: Vec<IpNet>,
}

impl ConnectionLimits {
    /// The limits `http` configures.
    pub(crate) fn from_config(http: &HttpConfig) -> Self {
        Self {
            header_read_timeout: Duration::from_secs(http.header_read_timeout_seconds),
            per_address: AddressSlots::new(http.max_connections_per_ip),
            uncounted_peers: if http.proxy_protocol {
                Vec::new()
            } else {
                http.trusted_proxies.clone()
            },
        }
    }

    /// The place `client`'s new connection takes (`None` for an uncounted
    /// peer), or the refusal when the address holds its limit.
    fn admit(&self, client: IpAddr) -> Result<Option<AddressSlot>, ConnectionRefusal> {
        let client = client.to_canonical();
        if self.uncounted_peers.iter().any(|net| net.contains(&client)) {
            return Ok(None);
        }
        match self.per_address.try_admit(client) {
            Some(slot) => Ok(Some(slot)),
            None => Err(ConnectionRefusal::PerAddressLimit),
        }
    }
}

/// Serves `router` on the connections `listener` accepts until `stop` is
/// cancelled, then waits until every connection has closed. With `tls`, each
/// connection first completes a TLS handshake, within the header read
/// timeout.
pub(crate) async fn serve_connections<L>(
    mut listener: L,
    router: Router,
    limits: ConnectionLimits,
    tls: Option<Arc<ReloadingAcceptor>>,
    stop: CancellationToken,
) -> io::Result<()>
where
    L: axum::serve::Listener<Io = TcpStream, Addr = SocketAddr>,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let handshake_timeout = limits.header_read_timeout;
    let connections = TaskTracker::new();
    loop {
        let (stream, client) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.cancelled() => break,
        };
        let slot = match limits.admit(client.ip()) {
            Ok(slot) => slot,
            Err(refusal) => {
                crate::metrics::http_connection_refused(refusal);
                tracing::debug!(%client, reason = refusal.as_str(), "connection refused");
                continue;
            }
        };
        let service = router
            .clone()
            .map_request(move |request: axum::http::Request<Incoming>| {
                let mut request = request.map(Body::new);
                request.extensions_mut().insert(ConnectInfo(client));
                request
            });
        let stream = CountedStream {
            stream,
            _slot: slot,
        };
        let service = TowerToHyperService::new(service);
        let builder = builder.clone();
        let stop = stop.clone();
        match &tls {
            None => connections.spawn(serve_connection(builder, stream, service, stop)),
            Some(tls) => {
                let acceptor = tls.acceptor();
                connections.spawn(async move {
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => serve_connection(builder, stream, service, stop).await,
                        Ok(Err(error)) => {
                            crate::metrics::http_connection_closed(
                                ConnectionClose::TlsHandshakeFailed,
                            );
                            tracing::debug!(%client, %error, "TLS handshake failed");
                        }
                        Err(_elapsed) => {
                            crate::metrics::http_connection_closed(
                                ConnectionClose::TlsHandshakeTimeout,
                            );
                            tracing::debug!(%client, "no TLS handshake in time");
                        }
                    }
                })
            }
        };
    }
    connections.close();
    connections.wait().await;
    Ok(())
}

/// Drives one connection to its end; once `stop` is cancelled, lets it finish
/// the request under way and closes it.
async fn serve_connection<I, S>(
    builder: hyper::server::conn::http1::Builder,
    stream: I,
    service: S,
    stop: CancellationToken,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::HttpService<Incoming, ResBody = Body>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let connection = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let mut connection = pin!(connection);
    let ended = tokio::select! {
        ended = connection.as_mut() => ended,
        () = stop.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    match ended {
        Ok(()) => {}
        Err(error) if error.is_timeout() => {
            crate::metrics::http_connection_closed(ConnectionClose::HeaderTimeout);
            tracing::debug!("connection closed: no request head in time");
        }
        Err(error) => tracing::debug!(%error, "connection ended with an error"),
    }
}

/// An accepted socket and its place in its address's count, freed when the
/// socket is dropped — after the connection, or after the WebSocket it was
/// upgraded to.
#[derive(Debug)]
struct CountedStream {
    /// The socket.
    stream: TcpStream,
    /// Its place (`None`: an uncounted peer).
    _slot: Option<AddressSlot>,
}

impl AsyncRead for CountedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(context, buffer)
    }
}

impl AsyncWrite for CountedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(context, buffer)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(context, buffers)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http_config(toml_text: &str) -> HttpConfig {
        toml::from_str(toml_text).expect("an [http] section")
    }

    #[test]
    fn an_address_is_refused_beyond_its_limit_and_a_closed_socket_frees_its_place() {
        let limits = ConnectionLimits::from_config(&http_config("max_connections_per_ip = 2"));
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        let first = limits.admit(client).expect("first");
        let _second = limits.admit(client).expect("second");
        assert_eq!(
            limits.admit(client).err(),
            Some(ConnectionRefusal::PerAddressLimit)
        );
        drop(first);
        assert!(limits.admit(client).is_ok());
    }

    #[test]
    fn trusted_proxies_are_not_counted_unless_they_send_proxy_headers() {
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let behind_proxy = ConnectionLimits::from_config(&http_config(
            "max_connections_per_ip = 1\ntrusted_proxies = [\"10.0.0.0/8\"]",
        ));
        let _first = behind_proxy.admit(proxy).expect("first");
        assert!(
            behind_proxy.admit(proxy).is_ok(),
            "a reverse proxy is not capped"
        );

        let proxy_protocol = ConnectionLimits::from_config(&http_config(
            "max_connections_per_ip = 1\ntrusted_proxies = [\"10.0.0.0/8\"]\nproxy_protocol = true",
        ));
        // With PROXY headers the address admitted is the client's, never the proxy's.
        let _held = proxy_protocol.admit(proxy).expect("first");
        assert!(proxy_protocol.admit(proxy).is_err());
    }
}
