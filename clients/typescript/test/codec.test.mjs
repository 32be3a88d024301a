// The built package against the server's AsyncAPI document: every example the
// server publishes is read back by the client's codec in both wire formats,
// and the close codes say what the client does next.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { encode } from "@msgpack/msgpack";

import {
  CLIENT_MESSAGE_TYPES,
  CLOSE_CODES,
  SERVER_MESSAGE_TYPES,
  FrameError,
  decodeServerMessage,
  encodeClientMessage,
} from "../dist/index.js";

const document = JSON.parse(await readFile(new URL("../../../docs/asyncapi.json", import.meta.url), "utf8"));

function examplesOf(action) {
  return Object.values(document.operations)
    .filter((operation) => operation.action === action)
    .map((operation) => {
      const name = operation.messages[0].$ref.split("/").pop();
      return { name, payload: document.components.messages[name].examples[0].payload };
    });
}

test("every server example decodes from JSON and from MessagePack", () => {
  const examples = examplesOf("send");
  assert.equal(examples.length, SERVER_MESSAGE_TYPES.length);
  for (const { name, payload } of examples) {
    assert.deepEqual(decodeServerMessage(JSON.stringify(payload)), payload, name);
    assert.deepEqual(decodeServerMessage(encode(payload)), payload, name);
  }
});

test("every client example encodes as the server documents it", () => {
  const examples = examplesOf("receive");
  assert.equal(examples.length, CLIENT_MESSAGE_TYPES.length);
  for (const { name, payload } of examples) {
    assert.deepEqual(JSON.parse(encodeClientMessage(payload, "json")), payload, name);
    assert.ok(encodeClientMessage(payload, "msgpack") instanceof Uint8Array, name);
  }
});

test("a message type the client does not know yet passes through; garbage does not", () => {
  assert.deepEqual(decodeServerMessage('{"t":"from_the_future","x":1}'), { t: "from_the_future" });
  assert.throws(() => decodeServerMessage("[1,2]"), FrameError);
  assert.throws(() => decodeServerMessage('{"x":1}'), FrameError);
  assert.throws(() => decodeServerMessage("not json"), FrameError);
});

test("close codes say what the client does next", () => {
  assert.equal(CLOSE_CODES[4010]?.clientAction, "route_again");
  assert.equal(CLOSE_CODES[4011]?.clientAction, "sign_in");
  assert.equal(CLOSE_CODES[4003]?.clientAction, "stay_closed");
  assert.equal(CLOSE_CODES[1001]?.clientAction, "reconnect_with_backoff");
});
