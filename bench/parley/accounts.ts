import type { SessionResponse } from "@parley/protocol";
import { mapLimit } from "../load/map-limit.js";
import { postJson } from "../system/http-json.js";

/**
 * The benchmark's Parley accounts: registered once per run (argon2id makes that the slowest
 * part of the set-up), then reused by every scenario through their access tokens, refreshed
 * through /api/token/refresh when they get close to their 15-minute expiry.
 */

/** Meets the default policy: 12+ characters, an uppercase letter, a special, not a username. */
export const BENCH_PASSWORD = "Relay-Bench-Passphrase-42!";

export interface BenchUser {
  readonly username: string;
  readonly userId: string;
  accessToken: string;
  refreshToken: string;
  accessTokenExpiresAt: number;
}

export interface AuthBatchResult {
  count: number;
  failed: number;
  durationMs: number;
  perS: number;
  /** Milliseconds per request, in completion order. */
  latenciesMs: number[];
  samples: string[];
}

function username(i: number): string {
  return `load${String(i).padStart(5, "0")}`;
}

export class BenchAccounts {
  readonly users: BenchUser[] = [];

  /** Registers `count` accounts, `concurrency` at a time (enough to keep argon2's pool busy). */
  async register(baseUrl: string, count: number, concurrency: number): Promise<AuthBatchResult> {
    const start = this.users.length;
    const names = Array.from({ length: count }, (_, i) => username(start + i));
    const result = await timed(names, concurrency, async (name) => {
      const s = await postJson<SessionResponse>(
        `${baseUrl}/api/register`,
        { username: name, password: BENCH_PASSWORD },
        201,
      );
      return s;
    });
    for (const s of result.values) {
      this.users.push({
        username: s.user.username,
        userId: s.user.id,
        accessToken: s.accessToken,
        refreshToken: s.refreshToken,
        accessTokenExpiresAt: s.accessTokenExpiresAt,
      });
    }
    return result.summary;
  }

  /** Refreshes every token that expires within `marginMs`; refresh tokens rotate. */
  async ensureFresh(baseUrl: string, marginMs: number, ca?: string): Promise<AuthBatchResult | null> {
    const stale = this.users.filter((u) => u.accessTokenExpiresAt < Date.now() + marginMs);
    if (stale.length === 0) return null;
    const result = await timed(stale, 16, async (u) => {
      const s = await postJson<SessionResponse>(
        `${baseUrl}/api/token/refresh`,
        { refreshToken: u.refreshToken },
        200,
        ca,
      );
      u.accessToken = s.accessToken;
      u.refreshToken = s.refreshToken;
      u.accessTokenExpiresAt = s.accessTokenExpiresAt;
      return s;
    });
    if (result.summary.failed > 0) {
      throw new Error(
        `token refresh failed for ${result.summary.failed} accounts: ${result.summary.samples[0]}`,
      );
    }
    return result.summary;
  }

  /** `count` password logins at once (new sessions; the tokens in hand stay valid). */
  async loginStorm(baseUrl: string, count: number): Promise<AuthBatchResult> {
    const who = this.users.slice(0, count);
    const result = await timed(who, count, (u) =>
      postJson<SessionResponse>(
        `${baseUrl}/api/login`,
        { username: u.username, password: BENCH_PASSWORD },
        200,
      ),
    );
    return result.summary;
  }
}

async function timed<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<R>,
): Promise<{ values: R[]; summary: AuthBatchResult }> {
  const started = performance.now();
  const latenciesMs: number[] = [];
  const outcomes = await mapLimit(items, concurrency, async (item) => {
    const t0 = performance.now();
    const v = await fn(item);
    latenciesMs.push(performance.now() - t0);
    return v;
  });
  const durationMs = performance.now() - started;
  const values: R[] = [];
  const samples: string[] = [];
  for (const o of outcomes) {
    if (o.status === "fulfilled") values.push(o.value);
    else if (samples.length < 5)
      samples.push(o.reason instanceof Error ? o.reason.message : String(o.reason));
  }
  return {
    values,
    summary: {
      count: values.length,
      failed: items.length - values.length,
      durationMs,
      perS: durationMs > 0 ? (values.length / durationMs) * 1000 : 0,
      latenciesMs,
      samples,
    },
  };
}
