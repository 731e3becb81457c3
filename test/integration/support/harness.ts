import { mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { SessionResponse } from "@parley/protocol";
import {
  type Config,
  configWith,
  createLogger,
  type ParleyServer,
  type StartOptions,
  startServer,
} from "@parley/server";

/** A real Parley server on 127.0.0.1 and an ephemeral port, with its own temp data dir. */
export interface TestServer {
  readonly server: ParleyServer;
  readonly url: string;
  readonly wsUrl: string;
  /** The CA that signed the server's certificate (null with TLS off). */
  readonly ca: string | null;
  readonly dataDir: string;
  /** Every log line the server wrote, as text. */
  readonly logs: string[];
  stop(): Promise<void>;
}

export const STRONG_PASSWORD = "Quiet-Harbour-Lamp-7";

export async function startTestServer(
  overrides: Partial<Config> = {},
  options: Partial<Omit<StartOptions, "log">> & { dataDir?: string } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "parley-test-")));
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const config = configWith({
    host: "127.0.0.1",
    port: 0,
    dataDir,
    logLevel: "debug",
    mdns: "off",
    ...overrides,
  });
  const server = await startServer(config, { ...options, log: createLogger(config.logLevel, sink) });
  let stopped = false;
  return {
    server,
    url: server.url,
    wsUrl: `${server.url.replace(/^http/, "ws")}/ws`,
    ca: server.caCertPem,
    dataDir,
    logs,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface HttpResult<T = unknown> {
  status: number;
  headers: IncomingHttpHeaders;
  body: T;
  text: string;
  /** The body's bytes as they came (a downloaded file). */
  raw: Buffer;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as-is (for malformed JSON and oversize bodies). */
  rawBody?: string | Buffer;
  token?: string;
  headers?: Record<string, string>;
  /** The loopback source address to send from (127.0.0.2, say, so an IP block spares 127.0.0.1). */
  localAddress?: string;
}

/** One HTTP(S) request to the test server, trusting only its CA. */
export function request<T = unknown>(
  ts: { url: string; ca: string | null },
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<HttpResult<T>> {
  const url = new URL(path, ts.url);
  const payload = options.rawBody ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined);
  const headers: Record<string, string> = { ...options.headers };
  if (payload !== undefined && !("content-type" in headers)) headers["content-type"] = "application/json";
  if (payload !== undefined) headers["content-length"] = String(Buffer.byteLength(payload));
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const from = options.localAddress !== undefined ? { localAddress: options.localAddress } : {};
    const req = send(
      url,
      { method, headers, ...(ts.ca ? { ca: ts.ca } : {}), ...from, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const raw = Buffer.concat(chunks);
          const text = raw.toString("utf8");
          let body: unknown = text;
          try {
            body = text.length > 0 ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: body as T, text, raw });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.setTimeout(15_000, () => req.destroy(new Error(`request ${method} ${path} timed out`)));
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

let userCounter = 0;
/** A fresh, unique, valid username. */
export function uniqueName(prefix = "user"): string {
  userCounter += 1;
  return `${prefix}${userCounter}x${Math.floor(Math.random() * 1e6)}`;
}

export async function registerUser(ts: TestServer, username = uniqueName()): Promise<SessionResponse> {
  const res = await request<SessionResponse>(ts, "POST", "/api/register", {
    body: { username, password: STRONG_PASSWORD },
  });
  if (res.status !== 201) throw new Error(`register ${username} failed: ${res.status} ${res.text}`);
  return res.body;
}

export async function login(ts: TestServer, username: string, password = STRONG_PASSWORD) {
  return request<SessionResponse>(ts, "POST", "/api/login", { body: { username, password } });
}

/** The sum of every sample of `name` whose labels include `labels` (0 when there is none). */
export function metricSum(metrics: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of metrics.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ?? "";
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/** The server's /metrics text (Prometheus format). */
export async function scrapeMetrics(ts: TestServer): Promise<string> {
  const res = await request<string>(ts, "GET", "/metrics");
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text;
}
