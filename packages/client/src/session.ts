/** The account session over REST: register, login, token refresh and logout, persisted in the device store. */
import { bytesToUtf8, utf8ToBytes } from "@noble/ciphers/utils.js";
import {
  LoginChallengeResponse as ChallengeSchema,
  LoginEnrolledResponse as EnrolledSchema,
  type LoginChallengeResponse,
  type SessionResponse,
  SessionResponse as SessionSchema,
  type TotpEnrolment,
  TotpEnrolment as TotpEnrolmentSchema,
} from "@parley/protocol";
import { clientAction, fromErrorBody, ParleyClientError } from "./errors.js";
import { expectShape, parseJson } from "./json.js";
import type { FetchLike, FetchResponse } from "./platform.js";
import type { ServerList } from "./servers.js";
import type { DeviceStore } from "./store.js";

const SESSION_KEY = "session";

export interface SessionOptions {
  /**
   * The servers to call, shared with the connection. A call the current server does not
   * answer (no response, or 502/503/504) moves the list on to the next server; see #call.
   */
  servers: ServerList;
  fetch: FetchLike;
  store: DeviceStore;
  now: () => number;
  /** Refresh this long before the access token expires. Default 60 s. */
  refreshMarginMs?: number;
  /** Called once when the session can no longer be refreshed (revoked, expired, reused token). */
  onSignedOut?: (code: string) => void;
}

/**
 * The account session over REST (docs/PROTOCOL.md, AUTH-5 to AUTH-7): keeps the access and
 * refresh tokens, refreshes before expiry and on `token_expired`, one refresh at a time (a
 * refresh token is single use: two concurrent refreshes would end the session), and persists
 * the rotated pair in the device store before using it.
 */
export class SessionManager {
  #session: SessionResponse | undefined;
  #refreshing: Promise<SessionResponse> | undefined;
  readonly #margin: number;

  constructor(private readonly o: SessionOptions) {
    this.#margin = o.refreshMarginMs ?? 60_000;
  }

  get current(): SessionResponse | undefined {
    return this.#session;
  }

  async register(username: string, password: string, inviteCode?: string): Promise<SessionResponse> {
    const body = { username, password, ...(inviteCode !== undefined ? { inviteCode } : {}) };
    return this.#adopt(await this.#call("POST", "/api/register", body));
  }

  /**
   * AUTH-2: the password step. A session, or (AUTH-14) the challenge of a second step: the
   * password is sent once; the code goes with the challenge (loginWithCode).
   */
  async login(username: string, password: string): Promise<SessionResponse | LoginChallengeResponse> {
    const answer = await this.#call("POST", "/api/login", { username, password }, undefined, true);
    if (typeof answer === "object" && answer !== null && "challenge" in answer)
      return expectShape<LoginChallengeResponse>(ChallengeSchema, answer, "login challenge");
    return this.#adopt(answer);
  }

  /** AUTH-14: completes a login with a TOTP code or a TOTP recovery code. */
  async loginWithCode(challenge: string, code: string): Promise<SessionResponse> {
    return this.#adopt(await this.#call("POST", "/api/login/totp", { challenge, code }));
  }

  /** AUTH-14: the TOTP secret of a login the server holds back until the account enrols. */
  async loginEnrol(challenge: string): Promise<TotpEnrolment> {
    const answer = await this.#call("POST", "/api/login/totp/enrol", { challenge });
    return expectShape<TotpEnrolment>(TotpEnrolmentSchema, answer, "TOTP enrolment");
  }

  /** AUTH-14: the first code enrols and completes the login; answers the recovery codes. */
  async loginConfirm(
    challenge: string,
    code: string,
  ): Promise<{ session: SessionResponse; recoveryCodes: string[] }> {
    const answer = await this.#call("POST", "/api/login/totp/confirm", { challenge, code });
    const done = expectShape<{ session: SessionResponse; recoveryCodes: string[] }>(
      EnrolledSchema,
      answer,
      "TOTP login",
    );
    // Only the session is stored: the recovery codes are shown once and kept nowhere.
    return { session: await this.#adopt(done.session), recoveryCodes: done.recoveryCodes };
  }

  /** Restores the session saved in the store; false when there is none. */
  async resume(): Promise<boolean> {
    const raw = await this.o.store.get(SESSION_KEY);
    if (raw === undefined) return false;
    let saved: unknown;
    try {
      saved = parseJson(bytesToUtf8(raw));
    } catch {
      await this.o.store.delete(SESSION_KEY);
      return false;
    }
    this.#session = expectShape<SessionResponse>(SessionSchema, saved, "saved session");
    return true;
  }

  /** Ends the session on the server (AUTH-7) and forgets it here, even when the server is unreachable. */
  async logout(): Promise<void> {
    const session = this.#session;
    if (session === undefined) return;
    try {
      await this.#call("POST", "/api/logout", undefined, session.accessToken, true);
    } catch (e) {
      // An already-ended session is what we wanted; anything else still ends it locally.
      if (!(e instanceof ParleyClientError)) throw e;
    } finally {
      await this.#forget();
    }
  }

  /** A valid access token, refreshed first when it is about to expire. */
  async accessToken(forceRefresh = false): Promise<string> {
    const session = this.#session;
    if (session === undefined) throw new ParleyClientError("not_signed_in");
    if (!forceRefresh && session.accessTokenExpiresAt - this.o.now() > this.#margin)
      return session.accessToken;
    return (await this.refresh()).accessToken;
  }

  /** Rotates the tokens (AUTH-6); concurrent callers share one request. */
  refresh(): Promise<SessionResponse> {
    this.#refreshing ??= this.#doRefresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /** An authenticated REST call; on `token_expired` it refreshes once and retries. */
  async api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return (await this.#call(method, path, body, await this.accessToken())) as T;
    } catch (e) {
      if (!(e instanceof ParleyClientError) || clientAction(e.code) !== "refresh") throw e;
      return (await this.#call(method, path, body, await this.accessToken(true))) as T;
    }
  }

  /**
   * An authenticated request with any body, answered with the raw response (files.ts): 2xx is
   * the caller's to read; an error answer throws its ParleyClientError; on `token_expired` it
   * refreshes once and sends again. No answer at all is `http_failed`.
   */
  async raw(
    method: string,
    path: string,
    headers: Record<string, string> = {},
    body?: Uint8Array<ArrayBuffer>,
  ): Promise<FetchResponse> {
    const once = async (token: string): Promise<FetchResponse> => {
      const init: Parameters<FetchLike>[1] = {
        method,
        headers: { ...headers, authorization: `Bearer ${token}` },
      };
      if (body !== undefined) init.body = body;
      let res: FetchResponse;
      try {
        res = await this.o.fetch(`${this.o.servers.current}${path}`, init);
      } catch (cause) {
        this.o.servers.failover(this.o.servers.current);
        throw new ParleyClientError("http_failed", { cause });
      }
      if (res.status >= 200 && res.status < 300) return res;
      let json: unknown;
      try {
        json = parseJson(await res.text());
      } catch {
        json = undefined;
      }
      throw fromErrorBody(json, res.status);
    };
    try {
      return await once(await this.accessToken());
    } catch (e) {
      if (!(e instanceof ParleyClientError) || clientAction(e.code) !== "refresh") throw e;
      return once(await this.accessToken(true));
    }
  }

  async #doRefresh(): Promise<SessionResponse> {
    const session = this.#session;
    if (session === undefined) throw new ParleyClientError("not_signed_in");
    let answer: unknown;
    try {
      answer = await this.#call("POST", "/api/token/refresh", { refreshToken: session.refreshToken });
    } catch (e) {
      // The registry says what a code asks of a client: a refresh that is refused for good
      // (invalid or revoked session, disabled account) signs this device out.
      const action = e instanceof ParleyClientError ? clientAction(e.code) : undefined;
      if (e instanceof ParleyClientError && (action === "sign_in" || action === "give_up")) {
        await this.#forget();
        this.o.onSignedOut?.(e.code);
        throw new ParleyClientError("signed_out", { cause: e });
      }
      throw e;
    }
    return this.#adopt(answer);
  }

  async #adopt(answer: unknown): Promise<SessionResponse> {
    const session = expectShape<SessionResponse>(SessionSchema, answer, "session");
    // AUTH-6: store the rotated refresh token before anything can use it.
    await this.o.store.put(SESSION_KEY, utf8ToBytes(JSON.stringify(session)));
    this.#session = session;
    return session;
  }

  async #forget(): Promise<void> {
    this.#session = undefined;
    await this.o.store.delete(SESSION_KEY);
  }

  /** Drops the session without telling the server (it already ended it). */
  async forget(): Promise<void> {
    await this.#forget();
  }

  /**
   * One REST call to the server in use. When that server does not answer, or answers 502, 503
   * or 504 (down, shutting down, a backing service away, or a load balancer without a healthy
   * node), the server list moves on, so the next call and the next WebSocket go elsewhere.
   * `repeatable` calls are then sent again to the next server, at most once per server: those
   * whose repetition is harmless (GET, login, logout). Others are not, since the first try may
   * have been carried out before the answer was lost: a repeated register meets
   * `username_taken`, and a repeated refresh presents a spent refresh token, which ends the
   * session (AUTH-6). Their callers retry later, on the next server.
   */
  async #call(
    method: string,
    path: string,
    body: unknown,
    token?: string,
    repeatable = method === "GET",
  ): Promise<unknown> {
    const servers = this.o.servers;
    for (let tried = 1; ; tried++) {
      const origin = servers.current;
      try {
        return await this.#callOnce(origin, method, path, body, token);
      } catch (e) {
        if (!(e instanceof ParleyClientError) || !unanswered(e)) throw e;
        servers.failover(origin);
        if (!repeatable || tried >= servers.size) throw e;
      }
    }
  }

  #callOnce(
    origin: string,
    method: string,
    path: string,
    body: unknown,
    token: string | undefined,
  ): Promise<unknown> {
    return requestJson(this.o.fetch, `${origin}${path}`, method, body, token);
  }
}

/**
 * One JSON request: the answer's body on 2xx; otherwise the server's error as a
 * ParleyClientError (`http_failed` when there was no answer at all).
 */
export async function requestJson(
  fetch: FetchLike,
  url: string,
  method: string,
  body?: unknown,
  token?: string,
): Promise<unknown> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const init: Parameters<FetchLike>[1] = { method, headers };
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res: Awaited<ReturnType<FetchLike>>;
  let text: string;
  try {
    res = await fetch(url, init);
    text = await res.text();
  } catch (cause) {
    throw new ParleyClientError("http_failed", { cause });
  }
  let json: unknown;
  try {
    json = text.length > 0 ? parseJson(text) : undefined;
  } catch {
    json = undefined;
  }
  if (res.status >= 200 && res.status < 300) return json;
  throw fromErrorBody(json, res.status);
}

/** The server did not answer, or said it cannot serve now (RFC 9110 §15.6.3-15.6.5). */
function unanswered(e: ParleyClientError): boolean {
  return e.code === "http_failed" || e.status === 502 || e.status === 503 || e.status === 504;
}
