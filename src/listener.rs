//! The HTTP and WebSocket listener, bound with an explicit backlog. tokio's
//! `TcpListener::bind` asks the kernel for a backlog of 128, so a burst of
//! thousands of reconnects (a node restarting, clients failing over from a lost
//! node) overflows the accept queue and every dropped SYN waits a second before
//! its retry; `http.listen_backlog` sets it instead. [`Listeners`] pairs it with
//! the metrics listener, which only serves `/metrics`.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket};

/// Connections the metrics listener queues (a scraper or two).
const METRICS_BACKLOG: u32 = 64;

/// The sockets a node serves on, bound before [`serve`](crate::serve) is called.
#[derive(Debug)]
pub struct Listeners {
    /// The public API and WebSocket (`listen`).
    pub api: TcpListener,
    /// `GET /metrics` and nothing else (`[metrics] listen`), kept off the
    /// public listener.
    pub metrics: TcpListener,
}

/// Binds the metrics listener at `address`.
pub fn bind_metrics_listener(address: SocketAddr) -> io::Result<TcpListener> {
    bind_listener(address, METRICS_BACKLOG)
}

/// Binds `address` (with `SO_REUSEADDR`, as tokio's `bind` does, so a restart
/// does not wait for the previous run's `TIME_WAIT` sockets) and listens with
/// `backlog` queued connections at most.
pub fn bind_listener(address: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(backlog)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_bound_listener_accepts_connections() {
        let listener =
            bind_listener(SocketAddr::from(([127, 0, 0, 1], 0)), 1024).expect("a free port binds");
        let address = listener.local_addr().expect("bound address");
        let client = tokio::net::TcpStream::connect(address);
        let (accepted, connected) = tokio::join!(listener.accept(), client);
        assert!(accepted.is_ok() && connected.is_ok());
    }

    #[tokio::test]
    async fn an_address_in_use_is_refused() {
        let first = bind_listener(SocketAddr::from(([127, 0, 0, 1], 0)), 16).expect("binds");
        let taken = first.local_addr().expect("bound address");
        let error = bind_listener(taken, 16).expect_err("the port is taken");
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
    }
}
