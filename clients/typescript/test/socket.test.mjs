// What `HeyBlueSocket` does after each close code and on `token_expiring`,
// against a scripted WebSocket and API (no server): which URL it dials, how
// long it waits, when it stops, and what it sends.
import { test } from "node:test";
import assert from "node:assert/strict";

import { HeyBlueSocket, Session } from "../dist/index.js";

const sockets = [];

class ScriptedSocket {
  /** While set, every new socket is dropped right after its `hello`. */
  static refuse = false;

  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.readyState = 0;
    this.sent = [];
    this.binaryType = "blob";
    sockets.push(this);
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.({});
    }, 0);
  }
  send(data) {
    this.sent.push(JSON.parse(data));
    if (this.sent.length === 1 && ScriptedSocket.refuse) {
      setTimeout(() => this.serverClose(1006), 0);
      return;
    }
    if (this.sent.length === 1) this.push({ t: "welcome", account_id: "a", role: "citizen", server_time_ms: 0, location_interval_ms: 1000 });
  }
  push(message) {
    setTimeout(() => this.onmessage?.({ data: JSON.stringify(message) }), 0);
  }
  serverClose(code) {
    this.readyState = 3;
    this.onclose?.({ code, reason: "" });
  }
  close() {
    this.readyState = 3;
  }
}

function scriptedApi(calls) {
  let refreshes = 0;
  return async (url, init) => {
    calls.push(`${init.method} ${new URL(url).pathname}`);
    if (url.includes("/v1/route")) {
      return new Response(JSON.stringify({ ws_url: `ws://node-${calls.length}/v1/ws` }), { status: 200 });
    }
    if (url.endsWith("/v1/auth/refresh")) {
      refreshes += 1;
      const pair = { access_token: `access-${refreshes + 1}`, refresh_token: `refresh-${refreshes + 1}`, expires_in: 900, account_id: "a", role: "citizen" };
      return new Response(JSON.stringify(pair), { status: 200 });
    }
    return new Response("", { status: 404 });
  };
}

function client(calls) {
  const fetcher = scriptedApi(calls);
  const session = new Session("http://api", { access_token: "access-1", refresh_token: "refresh-1", expires_in: 900, account_id: "a", role: "citizen" }, fetcher);
  return new HeyBlueSocket({ baseUrl: "http://api", session, WebSocket: ScriptedSocket, fetch: fetcher, random: () => 0.5, initialBackoffMs: 100, maxBackoffMs: 400 });
}

async function opened(socket) {
  const open = socket.next("open", 2000);
  return open;
}

test("4010 routes again at once; a dropped socket backs off with jitter, growing to its ceiling", async () => {
  sockets.length = 0;
  const calls = [];
  const socket = client(calls);
  let open = opened(socket);
  socket.connect();
  await open;
  socket.sendLocation(40.758, -73.9855);
  assert.equal(sockets[0].url, "ws://api/v1/ws");
  assert.deepEqual(sockets[0].sent[0], { t: "hello", token: "access-1" });

  open = opened(socket);
  const reconnecting = socket.next("reconnecting");
  sockets[0].serverClose(4010);
  assert.deepEqual(await reconnecting, { delayMs: 0, attempt: 1 });
  assert.deepEqual(await open, { reconnected: true });
  assert.ok(sockets[1].url.startsWith("ws://node-"), "dialled the routed node");
  assert.deepEqual(calls, ["GET /v1/route"]);

  // The node goes away and the next dials fail before `welcome`.
  const delays = [];
  const fourTries = new Promise((resolve) => {
    socket.on("reconnecting", ({ delayMs }) => {
      delays.push(delayMs);
      if (delays.length === 4) resolve();
    });
  });
  ScriptedSocket.refuse = true;
  sockets.at(-1).serverClose(1006);
  await fourTries;
  ScriptedSocket.refuse = false;
  socket.close();
  // Half of 100, 200, 400, then the 400 ms ceiling (random() = 0.5).
  assert.deepEqual(delays, [50, 100, 200, 200]);
});

test("4003 stays closed, 4011 signs out, 4001 refreshes the token before redialling", async () => {
  sockets.length = 0;
  const calls = [];
  const replacedSocket = client(calls);
  let open = opened(replacedSocket);
  replacedSocket.connect();
  await open;
  const replaced = replacedSocket.next("replaced");
  sockets[0].serverClose(4003);
  await replaced;
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(sockets.length, 1, "no redial after 4003");

  const revokedSocket = client(calls);
  open = opened(revokedSocket);
  revokedSocket.connect();
  await open;
  const signedOut = revokedSocket.next("signedOut");
  sockets[1].serverClose(4011);
  assert.deepEqual(await signedOut, { code: 4011 });

  const expiredSocket = client(calls);
  open = opened(expiredSocket);
  expiredSocket.connect();
  await open;
  open = opened(expiredSocket);
  sockets[2].serverClose(4001);
  await open;
  assert.ok(calls.includes("POST /v1/auth/refresh"));
  assert.deepEqual(sockets[3].sent[0], { t: "hello", token: "access-2" });
  expiredSocket.close();
});

test("token_expiring is answered with reauth and a fresh token; a pending request is replayed with its op_id", async () => {
  sockets.length = 0;
  const calls = [];
  const socket = client(calls);
  let open = opened(socket);
  socket.connect();
  await open;
  const opId = socket.requestConnection("o_handle");
  sockets[0].push({ t: "token_expiring", expires_at_ms: 1 });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(sockets[0].sent.at(-1), { t: "reauth", token: "access-2" });

  open = opened(socket);
  sockets[0].serverClose(1001);
  await open;
  assert.deepEqual(sockets[1].sent[1], { t: "request_connection", officer: "o_handle", op_id: opId });

  // Once the request is settled it is not replayed again.
  sockets[1].push({ t: "request_update", request_id: "r", state: "declined", op_id: opId });
  await new Promise((resolve) => setTimeout(resolve, 20));
  open = opened(socket);
  sockets[1].serverClose(1001);
  await open;
  assert.equal(sockets[2].sent.filter((message) => message.t === "request_connection").length, 0);
  socket.close();
});
