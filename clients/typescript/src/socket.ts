// `HeyBlueSocket`: one person's socket as an app keeps it. It asks
// `GET /v1/route` which node to use, authenticates with `hello`, and after a
// close does what the close code says (back off and reconnect, route again
// after 4010, refresh the token, or stop). It sends locations at most as often
// as the server takes them (the newest wins), renews the socket's token when
// the server warns it is expiring, and after a reconnect sends the last
// location again, re-opens an officer's availability window that had time left,
// and replays a pending `request_connection` with the same `op_id`.
import { callApi, type Session } from "./auth.js";
import { decodeServerMessage, encodeClientMessage, SUBPROTOCOLS, type WireFormat } from "./codec.js";
import { CLOSE_CODES, type ClientMessage, type CloseAction, type ServerMessage } from "./generated/protocol.js";

/** The parts of a WebSocket this client uses (the browser's, or `ws` in Node). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket constructor. */
export type WebSocketFactory = new (url: string, protocols: string[]) => WebSocketLike;

/** How the socket behaves; only `baseUrl` and `session` are required. */
export interface SocketOptions {
  /** `https://api.example.org` (no trailing slash). */
  baseUrl: string;
  /** The signed-in person. */
  session: Session;
  /** `json` (default) or `msgpack`. */
  format?: WireFormat;
  /** Defaults to `globalThis.WebSocket`. */
  WebSocket?: WebSocketFactory;
  /** Defaults to `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** First pause before reconnecting (ms, default 500); doubles up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  /** Longest pause before reconnecting (ms, default 30 000). */
  maxBackoffMs?: number;
  /** A number in [0, 1) for the jitter (default `Math.random`). */
  random?: () => number;
}

/** Events besides the server's messages. */
export interface LifecycleEvents {
  /** The socket is authenticated (`welcome` arrived). */
  open: { reconnected: boolean };
  /** The socket closed; `action` is what the client does next. */
  close: { code: number; reason: string; action: CloseAction };
  /** A reconnect is scheduled after `delayMs`. */
  reconnecting: { delayMs: number; attempt: number };
  /** The sign-in is over (token revoked or refresh refused): sign in again. */
  signedOut: { code: number };
  /** Another socket of this account took over; this one stays closed. */
  replaced: Record<string, never>;
  /** A frame could not be read or a step failed; the socket carries on. */
  error: { error: unknown };
}

type MessageOf<T extends ServerMessage["t"]> = Extract<ServerMessage, { t: T }>;
type Handler<Event> = (event: Event) => void;

/** The WebSocket `OPEN` ready state. */
const OPEN = 1;
/** Pause after close 4013 (the per-account budget of sockets is per minute). */
const WAIT_A_MINUTE_MS = 60_000;

/** A `request_connection` not yet answered, replayed after a reconnect. */
interface PendingRequest {
  officer: string;
  opId: string;
}

/** One person's socket, reconnecting on its own until `close()`. */
export class HeyBlueSocket {
  readonly #options: Required<Omit<SocketOptions, "session">> & { session: Session };
  #socket: WebSocketLike | undefined;
  #handlers = new Map<string, Set<Handler<never>>>();
  #stopped = false;
  #attempt = 0;
  #everOpened = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastPosition: { lat: number; lng: number; accuracy_m?: number } | undefined;
  #locationIntervalMs = 1000;
  #lastLocationSentAt = 0;
  #locationTimer: ReturnType<typeof setTimeout> | undefined;
  #pending: PendingRequest | undefined;
  #availableUntilMs: number | undefined;

  constructor(options: SocketOptions) {
    const WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketFactory }).WebSocket;
    if (WebSocketImpl === undefined) throw new Error("no WebSocket implementation: pass options.WebSocket");
    this.#options = {
      format: "json",
      fetch: globalThis.fetch.bind(globalThis),
      initialBackoffMs: 500,
      maxBackoffMs: 30_000,
      random: Math.random,
      ...options,
      WebSocket: WebSocketImpl,
    };
  }

  /** Calls `handler` for every server message of type `type`. */
  on<T extends ServerMessage["t"]>(type: T, handler: Handler<MessageOf<T>>): this;
  /** Calls `handler` on a lifecycle event. */
  on<E extends keyof LifecycleEvents>(type: E, handler: Handler<LifecycleEvents[E]>): this;
  on(type: string, handler: Handler<never>): this {
    let handlers = this.#handlers.get(type);
    if (handlers === undefined) {
      handlers = new Set();
      this.#handlers.set(type, handlers);
    }
    handlers.add(handler);
    return this;
  }

  /** Resolves with the next `type` event or message (after `timeoutMs`, rejects). */
  next<T extends ServerMessage["t"]>(type: T, timeoutMs?: number): Promise<MessageOf<T>>;
  next<E extends keyof LifecycleEvents>(type: E, timeoutMs?: number): Promise<LifecycleEvents[E]>;
  next(type: string, timeoutMs = 10_000): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const handlers = this.#handlers.get(type) ?? new Set();
      this.#handlers.set(type, handlers);
      const timer = setTimeout(() => {
        handlers.delete(once as Handler<never>);
        reject(new Error(`no ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      const once = (event: unknown) => {
        clearTimeout(timer);
        handlers.delete(once as Handler<never>);
        resolve(event);
      };
      handlers.add(once as Handler<never>);
    });
  }

  /** Opens the socket (and keeps it open until `close()`). */
  connect(): void {
    this.#stopped = false;
    void this.#dial();
  }

  /** Closes the socket for good. */
  close(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#locationTimer);
    this.#socket?.close(1000, "client closed");
    this.#socket = undefined;
  }

  /** Reports a position; sent at once or at the server's pace (the newest wins). */
  sendLocation(lat: number, lng: number, accuracyM?: number): void {
    this.#lastPosition = accuracyM === undefined ? { lat, lng } : { lat, lng, accuracy_m: accuracyM };
    this.#flushLocationSoon();
  }

  /** An officer opens (or renews) an availability window of `minutes` (1–15). */
  goAvailable(minutes = 15): void {
    this.#availableUntilMs = Date.now() + minutes * 60_000;
    this.#send({ t: "go_available", minutes });
  }

  /** An officer ends the availability window. */
  goUnavailable(): void {
    this.#availableUntilMs = undefined;
    this.#send({ t: "go_unavailable" });
  }

  /** A citizen asks the officer behind `handle`; returns the request's `op_id`. */
  requestConnection(handle: string): string {
    const opId = randomId();
    this.#pending = { officer: handle, opId };
    this.#send({ t: "request_connection", officer: handle, op_id: opId });
    return opId;
  }

  /** An officer answers a `connection_requested`. */
  respond(requestId: string, accept: boolean): void {
    this.#send({ t: "respond", request_id: requestId, accept });
  }

  /** A citizen withdraws a pending request. */
  cancelRequest(requestId: string): void {
    this.#send({ t: "cancel_request", request_id: requestId });
  }

  /** Sends any client message (when the socket is open; dropped otherwise). */
  send(message: ClientMessage): void {
    this.#send(message);
  }

  async #dial(): Promise<void> {
    if (this.#stopped) return;
    let url: string;
    let token: string;
    try {
      token = await this.#options.session.accessToken();
      url = await this.#route(token);
    } catch (error) {
      this.#emit("error", { error });
      this.#scheduleReconnect("reconnect_with_backoff");
      return;
    }
    if (this.#stopped) return;
    const socket = new this.#options.WebSocket(url, [SUBPROTOCOLS[this.#options.format]]);
    socket.binaryType = "arraybuffer";
    this.#socket = socket;
    socket.onopen = () => socket.send(encodeClientMessage({ t: "hello", token }, this.#options.format));
    socket.onmessage = (event) => this.#receive(event.data);
    socket.onerror = () => {
      // A close event follows and decides what to do.
    };
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      clearTimeout(this.#locationTimer);
      const action = CLOSE_CODES[event.code]?.clientAction ?? "reconnect_with_backoff";
      this.#emit("close", { code: event.code, reason: event.reason, action });
      if (!this.#stopped) this.#afterClose(action, event.code);
    };
  }

  /** The socket URL of the node for the last position (or the base node). */
  async #route(token: string): Promise<string> {
    const fallback = `${this.#options.baseUrl.replace(/^http/, "ws")}/v1/ws`;
    if (this.#lastPosition === undefined) return fallback;
    const { lat, lng } = this.#lastPosition;
    const answer = await callApi<{ ws_url?: string }>(
      this.#options.fetch,
      `${this.#options.baseUrl}/v1/route?lat=${lat}&lng=${lng}`,
      { method: "GET", token },
    );
    return answer.ws_url ?? fallback;
  }

  #afterClose(action: CloseAction, code: number): void {
    switch (action) {
      case "stay_closed":
        this.#stopped = true;
        this.#emit("replaced", {});
        return;
      case "sign_in":
        this.#stopped = true;
        this.#emit("signedOut", { code });
        return;
      case "refresh_token":
        this.#options.session.refresh().then(
          () => this.#scheduleReconnect("route_again"),
          () => {
            this.#stopped = true;
            this.#emit("signedOut", { code });
          },
        );
        return;
      default:
        this.#scheduleReconnect(action);
    }
  }

  #scheduleReconnect(action: CloseAction): void {
    if (this.#stopped) return;
    this.#attempt += 1;
    let delayMs: number;
    if (action === "route_again") {
      delayMs = 0;
    } else if (action === "wait_a_minute") {
      delayMs = WAIT_A_MINUTE_MS;
    } else {
      // Full jitter: a fleet of phones cut off together does not come back together.
      const ceiling = Math.min(this.#options.maxBackoffMs, this.#options.initialBackoffMs * 2 ** (this.#attempt - 1));
      delayMs = Math.round(this.#options.random() * ceiling);
    }
    this.#emit("reconnecting", { delayMs, attempt: this.#attempt });
    this.#timer = setTimeout(() => void this.#dial(), delayMs);
  }

  #receive(data: unknown): void {
    let message: ServerMessage | { t: string };
    try {
      message = decodeServerMessage(data as string | ArrayBuffer);
    } catch (error) {
      this.#emit("error", { error });
      return;
    }
    switch (message.t) {
      case "welcome":
        this.#onWelcome(message as MessageOf<"welcome">);
        break;
      case "request_update":
        this.#onRequestUpdate(message as MessageOf<"request_update">);
        break;
      case "availability":
        this.#availableUntilMs = (message as MessageOf<"availability">).until_ms;
        break;
      case "availability_ended":
        this.#availableUntilMs = undefined;
        break;
      case "token_expiring":
        this.#options.session.refresh().then(
          (token) => this.#send({ t: "reauth", token }),
          (error: unknown) => this.#emit("error", { error }),
        );
        break;
      default:
        break;
    }
    this.#emit(message.t, message);
  }

  #onWelcome(welcome: MessageOf<"welcome">): void {
    const reconnected = this.#everOpened;
    this.#everOpened = true;
    this.#attempt = 0;
    this.#locationIntervalMs = welcome.location_interval_ms;
    this.#lastLocationSentAt = 0;
    if (this.#lastPosition !== undefined) this.#flushLocationSoon();
    const untilMs = this.#availableUntilMs;
    if (untilMs !== undefined && untilMs > Date.now()) {
      const minutes = Math.max(1, Math.min(15, Math.ceil((untilMs - Date.now()) / 60_000)));
      this.#send({ t: "go_available", minutes });
    }
    if (this.#pending !== undefined) {
      this.#send({ t: "request_connection", officer: this.#pending.officer, op_id: this.#pending.opId });
    }
    this.#emit("open", { reconnected });
  }

  #onRequestUpdate(update: MessageOf<"request_update">): void {
    // Only the citizen's updates carry the op_id; a settled request is not replayed.
    if (this.#pending !== undefined && update.op_id === this.#pending.opId && update.state !== "pending") {
      this.#pending = undefined;
    }
  }

  #flushLocationSoon(): void {
    if (this.#locationTimer !== undefined || this.#socket?.readyState !== OPEN) return;
    const waitMs = Math.max(0, this.#lastLocationSentAt + this.#locationIntervalMs - Date.now());
    this.#locationTimer = setTimeout(() => {
      this.#locationTimer = undefined;
      if (this.#lastPosition === undefined) return;
      this.#lastLocationSentAt = Date.now();
      this.#send({ t: "location", ...this.#lastPosition });
    }, waitMs);
  }

  #send(message: ClientMessage): void {
    const socket = this.#socket;
    if (socket === undefined || socket.readyState !== OPEN) return;
    socket.send(encodeClientMessage(message, this.#options.format));
  }

  #emit(type: string, event: unknown): void {
    for (const handler of [...(this.#handlers.get(type) ?? [])]) {
      try {
        (handler as Handler<unknown>)(event);
      } catch (error) {
        if (type !== "error") this.#emit("error", { error });
      }
    }
  }
}

/** A random UUID (v4) for `op_id`. */
function randomId(): string {
  return globalThis.crypto.randomUUID();
}
