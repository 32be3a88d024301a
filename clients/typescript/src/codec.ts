// Frames on the wire: a text frame carries one message as JSON, a binary frame
// one message as MessagePack (subprotocols `heyblue.v1.json` and
// `heyblue.v1.msgpack`). The server answers in the format the socket chose.
import { decode, encode } from "@msgpack/msgpack";

import { SERVER_MESSAGE_TYPES, type ClientMessage, type ServerMessage } from "./generated/protocol.js";

/** The wire format of a socket. */
export type WireFormat = "json" | "msgpack";

/** The WebSocket subprotocol that selects each format. */
export const SUBPROTOCOLS: Readonly<Record<WireFormat, string>> = {
  json: "heyblue.v1.json",
  msgpack: "heyblue.v1.msgpack",
};

/** One message as a frame in `format`. */
export function encodeClientMessage(message: ClientMessage, format: WireFormat): string | Uint8Array {
  return format === "json" ? JSON.stringify(message) : encode(message);
}

/** Why a frame could not be read as a server message. */
export class FrameError extends Error {
  override name = "FrameError";
}

const knownTypes: ReadonlySet<string> = new Set(SERVER_MESSAGE_TYPES);

/**
 * A server frame (text or binary) as a message. A message type this version
 * does not know yet is returned as it is, so newer servers do not break older
 * clients; anything that is not a map with a string `t` is a `FrameError`.
 */
export function decodeServerMessage(frame: string | ArrayBuffer | Uint8Array): ServerMessage | { t: string } {
  let value: unknown;
  try {
    value = typeof frame === "string" ? JSON.parse(frame) : decode(frame instanceof ArrayBuffer ? new Uint8Array(frame) : frame);
  } catch (error) {
    throw new FrameError(`unreadable frame: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new FrameError("a message must be a map");
  }
  const tag = (value as { t?: unknown }).t;
  if (typeof tag !== "string") {
    throw new FrameError("a message must have a string `t`");
  }
  return knownTypes.has(tag) ? (value as ServerMessage) : { t: tag };
}
