import { type ClientEvents, MemoryStore, ParleyClient } from "@parley/client";
import { pinnedWebSocket } from "../../../packages/cli/src/chat/websocket.js";
import { trustedFetch } from "../../../packages/cli/src/https-fetch.js";
import { STRONG_PASSWORD, type TestServer, uniqueName } from "./harness.js";

// An SDK client in the test process, on the same Node platform pieces the terminal client
// uses (trustedFetch, the pinned `ws` constructor), trusting only the test server's CA.

export interface SdkUser {
  readonly client: ParleyClient;
  readonly id: string;
  readonly username: string;
}

/** `store` outlives the client: a new client on it is the same device after a restart. */
export function sdkClient(ts: TestServer, store: MemoryStore = new MemoryStore()): ParleyClient {
  return new ParleyClient({
    baseUrl: ts.url,
    fetch: trustedFetch({ ca: ts.ca }),
    WebSocket: pinnedWebSocket(ts.ca),
    store,
    backoff: { baseMs: 100, maxMs: 1000 },
    syncTimeoutMs: 5000,
  });
}

/** The access token an SDK client keeps in its store: it signs a test's raw requests. */
export async function accessTokenOf(store: MemoryStore): Promise<string> {
  const raw = await store.get("session");
  return (JSON.parse(Buffer.from(raw ?? []).toString("utf8")) as { accessToken: string }).accessToken;
}

/** A registered, connected SDK client with a fresh account. */
export async function sdkSignUp(ts: TestServer, prefix = "sdk"): Promise<SdkUser> {
  const client = sdkClient(ts);
  const username = uniqueName(prefix);
  const user = await client.register(username, STRONG_PASSWORD);
  await client.connect();
  return { client, id: user.id, username };
}

/** Resolves with the next event `name` that `match` accepts; rejects after `ms`. */
export function nextEvent<K extends keyof ClientEvents>(
  client: ParleyClient,
  name: K,
  match: (e: ClientEvents[K]) => boolean = () => true,
  ms = 20_000,
): Promise<ClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${String(name)} event within ${ms} ms`));
    }, ms);
    const off = client.on(name, (e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

/**
 * Links `fresh` (signed in as the account of `existing`, without an identity) from `existing`
 * by the short code, as a user would: both sides see the same SAS and confirm. Resolves with
 * the SAS each side showed, once `fresh` is registered and connected.
 */
export async function linkBySdk(
  existing: ParleyClient,
  fresh: ParleyClient,
): Promise<{ newSide: string; existingSide: string }> {
  const pending = await fresh.startLink();
  const joined = await existing.linkDevice(pending.code);
  const newSide = await pending.sas;
  pending.confirm();
  await joined.confirm();
  await pending.done;
  return { newSide, existingSide: joined.sas };
}
