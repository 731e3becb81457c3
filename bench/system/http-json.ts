import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

/**
 * A small JSON-over-HTTP(S) call for the harness: registration, login, refresh, /metrics and the
 * references' /lag. Built on node:http rather than fetch because fetch cannot be given a CA
 * (the Parley TLS run trusts the CA the server generated, not the system store).
 */

export interface HttpAnswer {
  status: number;
  body: string;
}

export interface HttpOptions {
  method?: "GET" | "POST";
  json?: unknown;
  ca?: string;
  timeoutMs?: number;
  /** A connection of its own, closed after the answer, rather than a kept-alive one. Default false. */
  newConnection?: boolean;
  /** Called once the whole request has been handed to the kernel. */
  onSent?: () => void;
}

export function httpCall(url: string, o: HttpOptions = {}): Promise<HttpAnswer> {
  const u = new URL(url);
  const body = o.json !== undefined ? JSON.stringify(o.json) : undefined;
  const send = u.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<HttpAnswer>((resolve, reject) => {
    const req = send(
      u,
      {
        method: o.method ?? (body !== undefined ? "POST" : "GET"),
        headers: body !== undefined ? { "content-type": "application/json" } : {},
        timeout: o.timeoutMs ?? 30_000,
        ...(o.ca !== undefined ? { ca: o.ca } : {}),
        ...(o.newConnection ? { agent: false } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${u.pathname}: timed out`)));
    req.on("error", reject);
    if (o.onSent) req.once("finish", o.onSent);
    req.end(body);
  });
}

/** POSTs JSON and parses the JSON answer; throws with the status and error code otherwise. */
export async function postJson<T>(url: string, json: unknown, expect: number, ca?: string): Promise<T> {
  const r = await httpCall(url, { json, ...(ca !== undefined ? { ca } : {}) });
  if (r.status !== expect) {
    let code = "";
    try {
      code = String((JSON.parse(r.body) as { code?: unknown }).code ?? "");
    } catch {
      // not JSON
    }
    throw new HttpStatusError(`${new URL(url).pathname}: HTTP ${r.status} ${code}`.trim(), r.status, code);
  }
  return JSON.parse(r.body) as T;
}

export class HttpStatusError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}
