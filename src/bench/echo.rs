//! The floor `--baseline echo` compares against: a bare tokio-tungstenite server
//! that echoes every data frame, with the same WebSocket buffer settings as the
//! Hey Blue! gateway (1 KiB read buffer, write buffer 0, 64 KiB messages) and
//! its listen backlog. What it costs per socket and per frame is what any
//! WebSocket server on this stack pays.

use std::net::SocketAddr;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The gateway's read buffer (`gateway::ws::upgrade`).
const READ_BUFFER_BYTES: usize = 1024;
/// The gateway's write buffer target.
const WRITE_BUFFER_BYTES: usize = 0;
/// The gateway's default listen backlog (`http.listen_backlog`).
const LISTEN_BACKLOG: u32 = 4096;
/// The gateway's transport message cap.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Serves the echo on `listen` until the process is stopped.
pub async fn run_echo_server(listen: SocketAddr) -> std::io::Result<()> {
    let (soft, _hard) = super::net::raise_open_file_limit();
    tracing::debug!(soft, "echo server open-file limit");
    let listener = crate::listener::bind_listener(listen, LISTEN_BACKLOG)?;
    loop {
        let (stream, _peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        tokio::spawn(echo(stream));
    }
}

async fn echo(stream: TcpStream) {
    let _nodelay_best_effort = stream.set_nodelay(true);
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES));
    let Ok(mut socket) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await
    else {
        return;
    };
    while let Some(Ok(message)) = socket.next().await {
        let reply = match message {
            Message::Binary(_) | Message::Text(_) => message,
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
        };
        if socket.send(reply).await.is_err() {
            break;
        }
    }
}
