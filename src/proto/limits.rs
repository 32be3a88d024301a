//! Protocol limits: the numbers a client can rely on, each with the reason it has the
//! value it has. `docs/protocol.md` publishes them in its limits table (a test keeps
//! the two equal). The codec enforces the size and shape limits; the session and the
//! gateway enforce the rates and timers.

/// Largest frame the codec accepts, in bytes (16 KiB). The largest legitimate
/// message is a `hello` carrying a token (well under 1 KiB); 16 KiB leaves room for
/// growth while bounding the parse work and memory one frame can cost. Larger frames
/// are answered with `frame_too_large` and the session stays open.
pub(crate) const MAX_FRAME_BYTES: usize = 16 * 1024;

/// Largest WebSocket message the transport buffers at all, in bytes (64 KiB). The
/// gateway configures the WebSocket library with it, so a frame between
/// [`MAX_FRAME_BYTES`] and this size still reaches the codec and gets a readable
/// error; only a message beyond it is refused by the library and closes the socket
/// with 1009, because buffering it would already be the cost the limit exists to avoid.
pub(crate) const TRANSPORT_MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Minimum spacing of location updates the server processes per session, in ms. A
/// phone's GPS gives nothing useful faster than 1 Hz, and every processed update can
/// fan out to a cell and to nearby citizens; faster updates are coalesced (the newest
/// replaces the pending one), which is not an error. Sent to clients in `welcome`.
pub(crate) const LOCATION_MIN_INTERVAL_MS: u64 = 1000;

/// Control messages (every client message except `location`) accepted per session
/// per minute. A person taps a few buttons a minute; 100 leaves ample room for
/// retries and pings while stopping a client stuck in a loop. Excess messages are
/// answered with `rate_limited` and not processed.
pub(crate) const CONTROL_MESSAGES_PER_MINUTE: u32 = 100;

/// Sockets one account may open per minute (`presence.sockets_per_account_per_minute`).
/// An app reconnects a few times a minute at worst (network changes, a drain's 4010);
/// beyond this a client is looping, and each socket costs an authentication and a
/// session attach. Excess upgrades are refused with HTTP 429 (header
/// authentication) or closed with 4013 after `hello`.
pub(crate) const SOCKETS_PER_ACCOUNT_PER_MINUTE: u32 = 30;

/// Time an unauthenticated socket has to send `hello`, in seconds. Long enough for a
/// phone on a slow network, short enough that idle unauthenticated sockets cannot
/// pile up. Exceeding it closes the socket with 4002.
pub(crate) const HELLO_TIMEOUT_SECONDS: u64 = 5;

/// Interval of the server's WebSocket ping frames, in seconds. Below the common
/// 30–60 s idle timeouts of NATs, mobile carriers and load balancers, so a healthy
/// but quiet connection is never cut by the network in between.
pub(crate) const PING_INTERVAL_SECONDS: u64 = 20;

/// Silence after which the server gives a socket up, in seconds: three missed ping
/// intervals. Any frame from the client (pong, ping, message) counts as traffic.
/// Exceeding it closes the socket with 4004 and starts the disconnect grace.
pub(crate) const IDLE_TIMEOUT_SECONDS: u64 = 60;

/// Error answers per session per minute after which the socket is closed with 4008.
/// A correct client makes none; a handful covers a client bug or a version skew,
/// while a flood of bad frames is abuse that should not keep a socket.
pub(crate) const ERRORS_PER_MINUTE_BEFORE_CLOSE: u32 = 20;

/// Shortest availability window an officer can ask for, in minutes.
pub(crate) const AVAILABILITY_MIN_MINUTES: u32 = 1;

/// Longest availability window an officer can ask for, and the default when
/// `go_available` has no `minutes`: the product's 15-minute window.
pub(crate) const AVAILABILITY_MAX_MINUTES: u32 = 15;

/// Longest token `hello` may carry, in bytes. Access tokens are a few dozen
/// characters; the margin allows a future format without letting a frame smuggle a
/// large string in.
pub(crate) const MAX_TOKEN_BYTES: usize = 1024;

/// Longest officer handle, in bytes. Handles are short opaque strings minted by the
/// server; anything longer cannot be one.
pub(crate) const MAX_HANDLE_BYTES: usize = 64;

/// Longest client operation id, in bytes. Enough for a UUID or a ULID in any
/// spelling; the id is stored with the request for idempotency, so it is bounded.
pub(crate) const MAX_OP_ID_BYTES: usize = 64;

/// Deepest nesting of maps and arrays the codec parses. Messages nest at most two
/// levels; the bound keeps a crafted frame from costing deep recursion.
pub(crate) const MAX_NESTING_DEPTH: usize = 8;

/// Longest human message in an `error` answer, in characters. Messages may quote
/// what the client sent; the bound keeps an answer small whatever the frame held.
pub(crate) const ERROR_MESSAGE_MAX_CHARS: usize = 200;

/// Longest `chat` text, in characters (Unicode scalar values): a short
/// message, not a document; a longer one gets `invalid_field`.
pub(crate) const MAX_CHAT_CHARS: usize = 500;
