// The client against a real server (HEYBLUE_BINARY): an officer and a citizen
// sign in with codes and connect through `HeyBlueSocket`, then the server is
// killed and started again and both clients carry on by themselves; a drained
// node (alone, so it hands nobody its clients: 1001, not 4010) is redialled
// with backoff until it is back; and a request pending when the citizen's
// connection is cut is the same request after the client reconnects. 4010
// itself is covered in socket.test.mjs.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { connect, createServer } from "node:net";
import WebSocket from "ws";

import { HeyBlueSocket, Session } from "../dist/index.js";
import { TestServer } from "./server.mjs";

const OFFICER_PHONE = "+12125550201";
const CITIZEN_PHONE = "+12125550301";
/** Times Square, and about 50 m north of it (the same resolution-9 cell). */
const CITIZEN_AT = [40.758, -73.9855];
const OFFICER_AT = [40.75845, -73.9855];

let server;

async function signIn(phone) {
  await Session.requestCode(server.baseUrl, phone);
  return Session.verifyCode(server.baseUrl, phone, await server.lastCodeFor(phone));
}

/** A TCP relay to the server whose connections the test can cut. */
async function relay() {
  const open = new Set();
  const listener = createServer((downstream) => {
    const upstream = connect(server.port, "127.0.0.1");
    for (const socket of [downstream, upstream]) {
      open.add(socket);
      socket.on("close", () => open.delete(socket));
      socket.on("error", () => socket.destroy());
    }
    downstream.pipe(upstream).pipe(downstream);
  });
  await new Promise((resolve) => listener.listen(0, "127.0.0.1", resolve));
  return {
    baseUrl: `http://127.0.0.1:${listener.address().port}`,
    cut() {
      for (const socket of open) socket.destroy();
    },
    close() {
      this.cut();
      listener.close();
    },
  };
}

function socketOf(session, baseUrl = server.baseUrl) {
  // Reconnect quickly: the restart below takes well under a second.
  return new HeyBlueSocket({
    baseUrl,
    session,
    WebSocket,
    initialBackoffMs: 100,
    maxBackoffMs: 1000,
  });
}

/** Waits for `nearest` naming an officer (a push may first say there is none). */
async function shownOfficer(citizen) {
  for (;;) {
    const { officer } = await citizen.next("nearest", 15_000);
    if (officer) return officer;
  }
}

async function connectionBetween(officer, citizen, handle) {
  const requested = officer.next("connection_requested", 15_000);
  const citizenEstablished = citizen.next("connection_established", 15_000);
  const officerEstablished = officer.next("connection_established", 15_000);
  citizen.requestConnection(handle);
  const { request_id } = await requested;
  officer.respond(request_id, true);
  const [forCitizen, forOfficer] = await Promise.all([citizenEstablished, officerEstablished]);
  assert.equal(forCitizen.connection_id, request_id);
  assert.equal(forOfficer.connection_id, request_id);
  assert.equal(forCitizen.peer.role, "officer");
  assert.equal(forOfficer.peer.role, "citizen");
}

before(async () => {
  server = await TestServer.start();
  await server.importRoster(`phone,display_name,badge,department\n${OFFICER_PHONE},Officer Diaz,4411,NYPD\n`);
});

after(async () => {
  await server?.stop();
});

test("an officer and a citizen connect, and both carry on after the server crashes", async () => {
  const officerSession = await signIn(OFFICER_PHONE);
  const citizenSession = await signIn(CITIZEN_PHONE);
  assert.equal(officerSession.role, "officer");
  assert.equal(citizenSession.role, "citizen");

  const officer = socketOf(officerSession);
  const citizen = socketOf(citizenSession);
  try {
    let opened = officer.next("open");
    officer.connect();
    assert.deepEqual(await opened, { reconnected: false });
    officer.sendLocation(...OFFICER_AT);
    const available = officer.next("availability");
    officer.goAvailable();
    await available;

    opened = citizen.next("open");
    citizen.connect();
    await opened;
    const shown = shownOfficer(citizen);
    citizen.sendLocation(...CITIZEN_AT);
    const first = await shown;
    assert.equal(first.display_name, "Officer Diaz");
    await connectionBetween(officer, citizen, first.handle);

    // A crash: both sockets close without a close frame (1006), and each
    // client redials, sends its position again and the officer re-opens the
    // availability window that still had time left.
    const officerBack = officer.next("open", 30_000);
    const citizenBack = citizen.next("open", 30_000);
    const availableAgain = officer.next("availability", 30_000);
    const shownAgain = shownOfficer(citizen);
    await server.crashAndRestart();
    assert.deepEqual(await officerBack, { reconnected: true });
    assert.deepEqual(await citizenBack, { reconnected: true });
    await availableAgain;
    const again = await shownAgain;
    assert.equal(again.display_name, "Officer Diaz");
    await connectionBetween(officer, citizen, again.handle);
  } finally {
    officer.close();
    citizen.close();
  }
});

test("a lone node's drain closes with 1001 and the client is back once the node is", async () => {
  const citizen = socketOf(await signIn("+12125550302"));
  try {
    let opened = citizen.next("open");
    citizen.connect();
    await opened;
    citizen.sendLocation(...CITIZEN_AT);
    await citizen.next("nearest", 15_000);
    const closed = citizen.next("close", 30_000);
    opened = citizen.next("open", 30_000);
    await server.drainAndRestart();
    const { code, action } = await closed;
    assert.equal(code, 1001);
    assert.equal(action, "reconnect_with_backoff");
    assert.deepEqual(await opened, { reconnected: true });
  } finally {
    citizen.close();
  }
});

test("a request pending when the citizen's connection drops is the same request after the reconnect", async () => {
  const officer = socketOf(await signIn(OFFICER_PHONE));
  const path = await relay();
  const citizen = socketOf(await signIn("+12125550303"), path.baseUrl);
  try {
    let opened = officer.next("open");
    officer.connect();
    await opened;
    officer.sendLocation(...OFFICER_AT);
    const available = officer.next("availability");
    officer.goAvailable();
    await available;

    opened = citizen.next("open");
    citizen.connect();
    await opened;
    const shown = shownOfficer(citizen);
    citizen.sendLocation(...CITIZEN_AT);
    const { handle } = await shown;

    const acknowledged = citizen.next("request_update");
    const requested = officer.next("connection_requested", 15_000);
    const opId = citizen.requestConnection(handle);
    const first = await acknowledged;
    assert.equal(first.state, "pending");
    assert.equal(first.op_id, opId);
    const { request_id } = await requested;
    assert.equal(request_id, first.request_id);

    // The network drops the citizen's socket; the server lives on. The client
    // redials (GET /v1/route, then the node itself) and replays the request.
    const back = citizen.next("open", 30_000);
    const replayed = citizen.next("request_update", 30_000);
    path.cut();
    assert.deepEqual(await back, { reconnected: true });
    const again = await replayed;
    assert.equal(again.state, "pending");
    assert.equal(again.request_id, request_id, "the replay names the same request");

    const citizenEstablished = citizen.next("connection_established", 15_000);
    officer.respond(request_id, true);
    const established = await citizenEstablished;
    assert.equal(established.connection_id, request_id);
  } finally {
    officer.close();
    citizen.close();
    path.close();
  }
});
