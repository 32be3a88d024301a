// The Hey Blue! client: the protocol's types (generated from the server's
// AsyncAPI document) and the codec for its two wire formats.
export * from "./generated/protocol.js";
export { decodeServerMessage, encodeClientMessage, FrameError, SUBPROTOCOLS, type WireFormat } from "./codec.js";
