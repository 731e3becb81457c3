import assert from "node:assert/strict";
import { test } from "node:test";
import { isParleyClientError } from "./errors.js";
import type { FetchLike } from "./platform.js";
import { fetchServerInfo } from "./server-info.js";

const INFO = {
  name: "parley",
  protocolVersion: 1,
  registration: "open",
  passwordPolicy: {
    name: "default",
    minLength: 12,
    maxLength: 128,
    requireUppercase: true,
    requireSpecial: true,
    specialCharacters: "!#",
    rejectCommon: true,
    rejectUsername: true,
  },
  limits: { maxFrameBytes: 262_144, messageRate: 10, messageBurst: 20 },
  caFingerprint: null,
  storage: { messages: "none" },
  mlsSuite: "x25519",
};

const answering =
  (status: number, body: string, seen: string[] = []): FetchLike =>
  async (url, init) => {
    seen.push(`${init.method} ${url}`);
    return { status, text: async () => body };
  };

test("reads the server's info from GET /api/info and checks its shape", async () => {
  const seen: string[] = [];
  const info = await fetchServerInfo("https://h:1", answering(200, JSON.stringify(INFO), seen));
  assert.deepEqual(seen, ["GET https://h:1/api/info"]);
  assert.equal(info.passwordPolicy.minLength, 12);
  await assert.rejects(
    fetchServerInfo("https://h:1", answering(200, JSON.stringify({ ...INFO, passwordPolicy: null }))),
    (e) => isParleyClientError(e, "unexpected_answer"),
  );
});

test("turns an error answer or no answer into the client error it names", async () => {
  await assert.rejects(
    fetchServerInfo(
      "https://h:1",
      answering(503, JSON.stringify({ error: { code: "service_unavailable" } })),
    ),
    (e) => isParleyClientError(e) && e.status === 503,
  );
  await assert.rejects(
    fetchServerInfo("https://h:1", async () => {
      throw new Error("ECONNREFUSED");
    }),
    (e) => isParleyClientError(e, "http_failed"),
  );
});
