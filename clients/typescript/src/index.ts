// The Hey Blue! client: the protocol's types (generated from the server's
// AsyncAPI document), the codec for its two wire formats, phone sign-in with
// tokens kept fresh, and a socket that reconnects as the close codes say.
export * from "./generated/protocol.js";
export { decodeServerMessage, encodeClientMessage, FrameError, SUBPROTOCOLS, type WireFormat } from "./codec.js";
export { ApiError, Session, type SignedIn } from "./auth.js";
export {
  HeyBlueSocket,
  type LifecycleEvents,
  type SocketOptions,
  type WebSocketFactory,
  type WebSocketLike,
} from "./socket.js";
