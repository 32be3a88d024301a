// The client against a real server (HEYBLUE_BINARY): an officer and a citizen
// sign in with codes and connect through `HeyBlueSocket`, then the server is
// killed and started again and both clients carry on by themselves; a drained
// node (alone, so it hands nobody its clients: 1001, not 4010) is redialled
// with backoff until it is back. 4010 itself is covered in socket.test.mjs.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
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

function socketOf(session) {
  // Reconnect quickly: the restart below takes well under a second.
  return new HeyBlueSocket({
    baseUrl: server.baseUrl,
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
