// Phone sign-in with one-time codes and the token pair it gives: the access
// token is refreshed shortly before it expires, and a refresh token is spent
// once (the server revokes the whole sign-in when one is used twice).

/** What `POST /v1/auth/otp/verify` and `POST /v1/auth/refresh` answer. */
export interface SignedIn {
  access_token: string;
  refresh_token: string;
  /** Seconds the access token lives. */
  expires_in: number;
  account_id: string;
  role: "citizen" | "officer";
}

/** An HTTP error of the API: `{"error":{"code","message"}}`. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds from `Retry-After`, when the server sent one. */
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(message);
  }
}

/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_MS = 60_000;

/** Sends `body` as JSON and reads the JSON answer; an error answer throws `ApiError`. */
export async function callApi<Answer>(
  fetcher: typeof fetch,
  url: string,
  init: { method: string; body?: unknown; token?: string },
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (init.body !== undefined) headers["content-type"] = "application/json";
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  const response = await fetcher(url, {
    method: init.method,
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  if (!response.ok) {
    let code = "http_error";
    let message = `HTTP ${response.status}`;
    try {
      const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
      code = parsed.error?.code ?? code;
      message = parsed.error?.message ?? message;
    } catch {
      // Not the API's error shape (a proxy's page): keep the status.
    }
    const retryAfter = response.headers.get("retry-after");
    throw new ApiError(response.status, code, message, retryAfter === null ? undefined : Number(retryAfter));
  }
  return (text === "" ? undefined : JSON.parse(text)) as Answer;
}

/** One person's sign-in: the tokens, kept fresh. */
export class Session {
  #signedIn: SignedIn;
  #expiresAtMs: number;
  #refreshing: Promise<string> | undefined;

  constructor(
    private readonly baseUrl: string,
    signedIn: SignedIn,
    private readonly fetcher: typeof fetch = fetch,
    private readonly now: () => number = Date.now,
  ) {
    this.#signedIn = signedIn;
    this.#expiresAtMs = now() + signedIn.expires_in * 1000;
  }

  /** Asks for a one-time code by SMS (`202`; `ApiError` `rate_limited` and others otherwise). */
  static async requestCode(baseUrl: string, phone: string, fetcher: typeof fetch = fetch): Promise<void> {
    await callApi(fetcher, `${baseUrl}/v1/auth/otp/request`, { method: "POST", body: { phone } });
  }

  /** Signs in with the code the phone received. */
  static async verifyCode(baseUrl: string, phone: string, code: string, fetcher: typeof fetch = fetch): Promise<Session> {
    const signedIn = await callApi<SignedIn>(fetcher, `${baseUrl}/v1/auth/otp/verify`, {
      method: "POST",
      body: { phone, code },
    });
    return new Session(baseUrl, signedIn, fetcher);
  }

  /** The account signed in. */
  get accountId(): string {
    return this.#signedIn.account_id;
  }

  /** Citizen or officer. */
  get role(): SignedIn["role"] {
    return this.#signedIn.role;
  }

  /** The refresh token, to keep across app restarts (secure storage only). */
  get refreshToken(): string {
    return this.#signedIn.refresh_token;
  }

  /** A valid access token, refreshed first when it expires within a minute. */
  async accessToken(): Promise<string> {
    if (this.now() < this.#expiresAtMs - REFRESH_MARGIN_MS) return this.#signedIn.access_token;
    return this.refresh();
  }

  /** Spends the refresh token for a new pair; concurrent callers share one refresh. */
  refresh(): Promise<string> {
    this.#refreshing ??= callApi<SignedIn>(this.fetcher, `${this.baseUrl}/v1/auth/refresh`, {
      method: "POST",
      body: { refresh_token: this.#signedIn.refresh_token },
    })
      .then((signedIn) => {
        this.#signedIn = signedIn;
        this.#expiresAtMs = this.now() + signedIn.expires_in * 1000;
        return signedIn.access_token;
      })
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }
}
