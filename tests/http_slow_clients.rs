//! Slow and crowding clients against a real server over real sockets: a client
//! that sends its request head a byte at a time (slowloris) or nothing at all is
//! cut off after `http.header_read_timeout_seconds`; one client address holds
//! at most `http.max_connections_per_ip` connections, WebSockets included, and
//! a reconnect does not get around it.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::TestServer;
use common::ws::{Format, WsClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

/// The header read timeout these tests configure.
const HEADER_READ_TIMEOUT_SECONDS: u64 = 1;
/// Connections one address may hold in these tests.
const CONNECTIONS_PER_ADDRESS: usize = 3;
/// How long a cut-off connection may take beyond the timeout (a loaded machine).
const SLACK: Duration = Duration::from_secs(3);

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

fn server_address(server: &TestServer) -> SocketAddr {
    server
        .base_url
        .trim_start_matches("http://")
        .parse()
        .expect("the test server's address")
}

async fn connect_from(source: IpAddr, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket
        .bind(SocketAddr::new(source, 0))
        .expect("a loopback source address");
    socket.connect(server).await.expect("connected")
}

/// Whether the server has closed `stream` (end of stream or reset) within `wait`.
/// Bytes the server sends first (an error answer) are read past.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    let mut buffer = [0_u8; 1024];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_still_open) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_answer)) => continue,
        }
    }
}

/// One `GET /healthz` on `stream`, answered 200.
async fn healthz_answers(stream: &mut TcpStream) -> bool {
    if stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: probe\r\n\r\n")
        .await
        .is_err()
    {
        return false;
    }
    let mut buffer = [0_u8; 1024];
    match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await {
        Ok(Ok(read)) if read > 0 => buffer[..read].starts_with(b"HTTP/1.1 200"),
        _ => false,
    }
}

fn slow_clients_config() -> String {
    format!("[http]\nheader_read_timeout_seconds = {HEADER_READ_TIMEOUT_SECONDS}\n")
}

#[tokio::test]
async fn a_request_head_sent_a_byte_at_a_time_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), &slow_clients_config()).await;
    let mut stream = connect_from(loopback(1), server_address(&server)).await;
    let started = Instant::now();
    let head = b"GET /healthz HTTP/1.1\r\nHost: probe\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut cut_off = false;
    for byte in head {
        if stream.write_all(&[*byte]).await.is_err() {
            cut_off = true;
            break;
        }
        if closed_within(&mut stream, Duration::from_millis(200)).await {
            cut_off = true;
            break;
        }
        if started.elapsed() > Duration::from_secs(HEADER_READ_TIMEOUT_SECONDS) + SLACK {
            break;
        }
    }
    assert!(
        cut_off,
        "a head still unfinished after {:?} kept its connection",
        started.elapsed()
    );
    server.stop().await;
}

#[tokio::test]
async fn a_connection_that_never_sends_a_request_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), &slow_clients_config()).await;
    let mut silent = connect_from(loopback(2), server_address(&server)).await;
    let wait = Duration::from_secs(HEADER_READ_TIMEOUT_SECONDS) + SLACK;
    assert!(
        closed_within(&mut silent, wait).await,
        "a connection that sent nothing was still open after {wait:?}"
    );

    // An idle keep-alive connection is closed too once it stops sending heads.
    let mut kept_alive = connect_from(loopback(2), server_address(&server)).await;
    assert!(healthz_answers(&mut kept_alive).await);
    assert!(
        closed_within(&mut kept_alive, wait).await,
        "an idle keep-alive connection was still open after {wait:?}"
    );
    let metrics = server.scrape_metrics().await;
    assert!(
        metrics.contains("heyblue_http_connections_closed_total{reason=\"header_timeout\"}"),
        "the closes are counted:\n{metrics}"
    );
    server.stop().await;
}

#[tokio::test]
async fn one_address_holds_a_bounded_number_of_connections() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(
        dir.path(),
        &format!("[http]\nmax_connections_per_ip = {CONNECTIONS_PER_ADDRESS}\n"),
    )
    .await;
    let address = server_address(&server);
    let crowded = loopback(20);
    let url = server.base_url.replace("http://", "ws://") + "/v1/ws";

    // A WebSocket counts for as long as it is open, not only while upgrading.
    let websocket = WsClient::connect_from(crowded, &url, None, Format::Json)
        .await
        .expect("the first connection is admitted");
    let mut held = Vec::new();
    for _ in 1..CONNECTIONS_PER_ADDRESS {
        let mut stream = connect_from(crowded, address).await;
        assert!(healthz_answers(&mut stream).await, "within the cap");
        held.push(stream);
    }
    let mut refused = connect_from(crowded, address).await;
    assert!(
        !healthz_answers(&mut refused).await,
        "one connection beyond the cap is served"
    );
    let mut other = connect_from(loopback(21), address).await;
    assert!(
        healthz_answers(&mut other).await,
        "another address has its own allowance"
    );

    // Closing the WebSocket frees its place; reconnecting does not add one.
    websocket.close().await;
    let mut admitted = None;
    for _ in 0..50 {
        let mut stream = connect_from(crowded, address).await;
        if healthz_answers(&mut stream).await {
            admitted = Some(stream);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(admitted.is_some(), "the closed WebSocket's place was freed");
    let mut again = connect_from(crowded, address).await;
    assert!(!healthz_answers(&mut again).await, "the cap holds again");

    let metrics = server.scrape_metrics().await;
    assert!(
        metrics.contains("heyblue_http_connections_refused_total{reason=\"per_address_limit\"}"),
        "refusals are counted:\n{metrics}"
    );
    server.stop().await;
}
