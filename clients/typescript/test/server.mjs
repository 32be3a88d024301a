// A real `heyblue serve` for the client's tests: the binary named by
// HEYBLUE_BINARY, on free loopback ports, with the embedded store in a fresh
// directory and sign-in codes written to a file the tests read. It can be
// killed and started again on the same data and port, as a crash would.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, writeFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ADMIN_TOKEN = "client-test-admin-token-0123456789";

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export class TestServer {
  static async start() {
    const binary = process.env.HEYBLUE_BINARY;
    if (!binary) throw new Error("HEYBLUE_BINARY must name the heyblue binary");
    const root = await mkdtemp(join(tmpdir(), "heyblue-client-"));
    const server = new TestServer(binary, root, await freePort(), await freePort());
    await writeFile(
      join(root, "heyblue.toml"),
      [
        `listen = "127.0.0.1:${server.port}"`,
        `data_dir = "${join(root, "data")}"`,
        "[sms]",
        'type = "file"',
        `path = "${server.smsFile}"`,
        "[metrics]",
        `listen = "127.0.0.1:${server.metricsPort}"`,
        "[identity]",
        "otp_min_interval_seconds = 0",
        "",
      ].join("\n"),
    );
    await server.#launch();
    return server;
  }

  constructor(binary, root, port, metricsPort) {
    this.binary = binary;
    this.root = root;
    this.port = port;
    this.metricsPort = metricsPort;
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.smsFile = join(root, "sms.jsonl");
    this.child = undefined;
  }

  async #launch() {
    this.child = spawn(this.binary, ["--config", join(this.root, "heyblue.toml"), "serve"], {
      // HEYBLUE_* variables are config overrides: pass none but the admin token.
      env: {
        ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("HEYBLUE_"))),
        HEYBLUE_ADMIN_TOKEN: ADMIN_TOKEN,
        RUST_LOG: "warn",
      },
      stdio: ["ignore", "ignore", "inherit"],
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const response = await fetch(`${this.baseUrl}/readyz`);
        if (response.ok) return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) throw new Error("the server did not become ready in 30 s");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** SIGKILL, then the same binary on the same data and port. */
  async crashAndRestart() {
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGKILL");
    await exited;
    await this.#launch();
  }

  /**
   * `POST /v1/admin/drain`: the node closes its sockets and stops;
   * then the same binary starts again on the same data and port (the node a
   * routed client finds next).
   */
  async drainAndRestart() {
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    const response = await fetch(`${this.baseUrl}/v1/admin/drain`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    if (!response.ok) throw new Error(`drain: HTTP ${response.status}`);
    await exited;
    await this.#launch();
  }

  /** The newest code texted to `phone`. */
  async lastCodeFor(phone) {
    const lines = (await readFile(this.smsFile, "utf8")).trim().split("\n").reverse();
    for (const line of lines) {
      const message = JSON.parse(line);
      if (message.phone === phone) return message.code;
    }
    throw new Error(`no code was sent to ${phone}`);
  }

  async importRoster(csv) {
    const response = await fetch(`${this.baseUrl}/v1/admin/import/officers`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "text/csv" },
      body: csv,
    });
    if (!response.ok) throw new Error(`roster import: HTTP ${response.status} ${await response.text()}`);
  }

  async stop() {
    if (this.child && this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once("exit", resolve));
      this.child.kill("SIGTERM");
      await exited;
    }
    await rm(this.root, { recursive: true, force: true });
  }
}
