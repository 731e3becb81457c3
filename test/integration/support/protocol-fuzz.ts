import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { generateDeviceIdentity, generateKeyPackages, generateLastResortKeyPackage } from "@parley/crypto";
import {
  ChangePasswordRequest,
  ClientFrame,
  CreateInviteRequest,
  ERROR_CODES,
  LoginRequest,
  PROTOCOL_VERSION,
  RefreshRequest,
  RegisterRequest,
  type ServerFrame,
} from "@parley/protocol";
import fc from "fast-check";
import { registerUser, request, STRONG_PASSWORD, type TestServer } from "./harness.js";
import { fuzzCases, type Hints, type JsonSchema } from "./schema-arbitrary.js";
import { TestSocket } from "./ws-client.js";

/**
 * Schema-driven fuzzing of a running Parley server (issue 15): every client frame type and every
 * JSON request body, generated from the protocol's own schemas plus mutations, sent through the
 * real transport. Checks after every case: no `internal_error` answer or close, every error code
 * comes from the registry, the fuzzing socket's requests keep being answered in order, and (every
 * few cases) another connected user's request is answered. Over the whole run: no unhandled
 * rejection or uncaught exception, no error-level log line; heap before and after is reported.
 */
export interface FuzzOptions {
  seed: number;
  /** Frames on an authenticated socket. */
  wsRuns: number;
  /** First frames on a fresh socket (the auth path). */
  preAuthRuns: number;
  /** JSON request bodies. */
  httpRuns: number;
  /** Stops each phase early (not a failure) once this much time has passed. */
  timeLimitMs?: number;
  progress?: (line: string) => void;
}

export interface FuzzReport {
  cases: { ws: number; preAuth: number; http: number };
  answers: Record<string, number>;
  closes: Record<string, number>;
  httpStatuses: Record<string, number>;
  bystanderAnswers: number;
  /** Wall time of each phase (a figure to report, never asserted). */
  phaseMs: Record<string, number>;
  heapUsedMiB: { baseline: number; end: number };
  problems: string[];
}

const REGISTRY = new Set<string>(ERROR_CODES);
/** Closes `ws` makes by itself, with no reason: oversize frame, protocol error, bad UTF-8. */
const WS_LIBRARY_CLOSES = new Set([1002, 1007, 1009]);

function gcHeapMiB(): number {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

function bump(m: Record<string, number>, k: string): void {
  m[k] = (m[k] ?? 0) + 1;
}

export async function fuzzServer(ts: TestServer, o: FuzzOptions): Promise<FuzzReport> {
  const report: FuzzReport = {
    cases: { ws: 0, preAuth: 0, http: 0 },
    answers: {},
    closes: {},
    httpStatuses: {},
    bystanderAnswers: 0,
    phaseMs: {},
    heapUsedMiB: { baseline: 0, end: 0 },
    problems: [],
  };
  const problems = report.problems;
  const onRejection = (e: unknown) => problems.push(`unhandled rejection: ${String(e)}`);
  const onException = (e: unknown) => problems.push(`uncaught exception: ${String(e)}`);
  process.on("unhandledRejection", onRejection);
  process.on("uncaughtException", onException);
  const logsBefore = ts.logs.length;
  const sockets: TestSocket[] = [];
  try {
    const [alice, bob, carol, dave, erin] = await Promise.all(
      ["fza", "fzb", "fzc", "fzd", "fze"].map((p) => registerUser(ts, `${p}${o.seed % 100000}`)),
    );
    if (!alice || !bob || !carol || !dave || !erin) throw new Error("setup failed");
    // The fuzzing socket speaks for a registered device, so the MLS frames reach the delivery
    // service instead of stopping at `device_required`; real KeyPackages are among the values.
    const deviceId = "fuzz-device-1";
    const identity = await generateDeviceIdentity({ userId: alice.user.id, deviceId });
    const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
    const keyPackages = (await generateKeyPackages(identity, 4)).map((k) => b64(k.keyPackage));
    const lastResort = b64((await generateLastResortKeyPackage(identity)).keyPackage);
    const signatureKey = b64(identity.signaturePublicKey);
    const openFuzzer = async () => {
      const s = await TestSocket.open(ts);
      s.send({ type: "auth", token: alice.accessToken, protocolVersion: PROTOCOL_VERSION, deviceId });
      await s.next("ready");
      return s;
    };
    let fuzzer = await openFuzzer();
    const registered = await fuzzer.call({
      type: "device.register",
      deviceId,
      signatureKey,
      keyPackages: keyPackages.slice(0, 2),
      lastResort,
    });
    if (registered.type !== "keypackages.count")
      throw new Error(`device.register: ${JSON.stringify(registered)}`);
    const bystander = await TestSocket.authed(ts, bob.accessToken);
    sockets.push(bystander);
    const room = await fuzzer.call({ type: "room.create", name: "fuzz", isPublic: true });
    const secret = await bystander.call({ type: "room.create", name: "bob's", isPublic: false });
    if (room.type !== "room" || secret.type !== "room") throw new Error("room setup failed");
    await bystander.call({ type: "room.join", roomId: room.room.id });

    const userIds = [alice.user.id, bob.user.id, carol.user.id, "00000000-0000-0000-0000-000000000000"];
    const roomIds = [room.room.id, room.room.id.toLowerCase(), secret.room.id, "ABCDEF"];
    const hints: Hints = {
      userId: fc.constantFrom(...userIds),
      user: fc.constantFrom(...userIds),
      roomId: fc.constantFrom(...roomIds),
      room: fc.constantFrom(...roomIds),
      deviceId: fc.constantFrom(deviceId, "fuzz-device-2"),
      keyPackages: fc.constantFrom(...keyPackages),
      lastResort: fc.constant(lastResort),
      signatureKey: fc.constant(signatureKey),
      epoch: fc.integer({ min: 0, max: 3 }),
      upTo: fc.integer({ min: 0, max: 5 }),
      token: fc.constantFrom(alice.accessToken, alice.refreshToken, `${alice.accessToken}x`),
      protocolVersion: fc.constant(PROTOCOL_VERSION),
      username: fc.constantFrom(alice.user.username, carol.user.username),
      password: fc.constantFrom(STRONG_PASSWORD, "short"),
      currentPassword: fc.constant(STRONG_PASSWORD),
      refreshToken: fc.constantFrom(erin.refreshToken),
    };
    const frameSchemas = (ClientFrame as unknown as { anyOf: JsonSchema[] }).anyOf;
    const anyFrame = fc.oneof(...frameSchemas.map((s) => fuzzCases(s, hints)));
    const started = Date.now();
    const timeUp = () => o.timeLimitMs !== undefined && Date.now() - started > o.timeLimitMs;

    const checkFrame = (f: ServerFrame, what: string) => {
      if (f.type !== "error") return;
      bump(report.answers, f.code);
      if (f.code === "internal_error" || !REGISTRY.has(f.code)) problems.push(`${what}: error ${f.code}`);
    };
    const checkClose = (c: { code: number; reason: string }, what: string) => {
      bump(report.closes, `${c.code} ${c.reason}`);
      const fine = c.reason === "" ? WS_LIBRARY_CLOSES.has(c.code) : REGISTRY.has(c.reason);
      if (!fine || c.reason === "internal_error") problems.push(`${what}: closed ${c.code} "${c.reason}"`);
    };
    let probe = 0;
    const askBystander = async () => {
      const answer = await bystander.call({ type: "room.list" }, 60_000);
      if (answer.type !== "rooms") problems.push(`bystander's room.list answered ${answer.type}`);
      else report.bystanderAnswers += 1;
      bystander.frames.splice(0);
    };

    // ---- authenticated frames
    let heapTaken = false;
    await fc.assert(
      fc.asyncProperty(anyFrame, async (c) => {
        if (fuzzer.ws.readyState !== fuzzer.ws.OPEN) fuzzer = await openFuzzer();
        const socket = fuzzer;
        report.cases.ws += 1;
        const what = `frame ${c.how} ${c.text.slice(0, 200)}`;
        socket.send(c.text);
        probe += 1;
        const rid = `probe-${probe}`;
        socket.send({ type: "subscriptions.list", rid });
        const outcome = await Promise.race([
          socket.waitFor((f) => "rid" in f && f.rid === rid, 60_000, `answer to ${rid}`),
          socket.closed,
        ]);
        for (const f of socket.frames.splice(0)) checkFrame(f, what);
        if ("reason" in outcome) checkClose(outcome, what);
        else if (outcome.type !== "subscriptions") problems.push(`${what}: probe answered ${outcome.type}`);
        if (report.cases.ws % 25 === 0) await askBystander();
        if (!heapTaken && report.cases.ws >= Math.min(200, o.wsRuns / 4)) {
          heapTaken = true;
          report.heapUsedMiB.baseline = gcHeapMiB();
        }
        if (report.cases.ws % 1000 === 0) o.progress?.(`ws ${report.cases.ws} problems=${problems.length}`);
        return problems.length === 0;
      }),
      { seed: o.seed, numRuns: o.wsRuns, endOnFailure: true, ...limit(o, started) },
    );
    fuzzer.close();
    report.phaseMs.ws = Date.now() - started;
    if (timeUp()) o.progress?.("time limit reached in the ws phase");

    // ---- the first frame of a connection (auth path)
    const authSchema = frameSchemas.find((s) => s.properties?.type?.const === "auth") as JsonSchema;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fuzzCases(authSchema, hints), anyFrame), async (c) => {
        report.cases.preAuth += 1;
        const socket = await TestSocket.open(ts);
        const what = `first frame ${c.how} ${c.text.slice(0, 200)}`;
        socket.send(c.text);
        const outcome = await Promise.race([
          socket.waitFor((f) => f.type === "ready", 60_000, "ready or close"),
          socket.closed,
        ]);
        for (const f of socket.frames.splice(0)) checkFrame(f, what);
        if ("reason" in outcome) checkClose(outcome, what);
        else bump(report.answers, "ready");
        socket.close();
        await socket.closed;
        return problems.length === 0;
      }),
      { seed: o.seed + 1, numRuns: o.preAuthRuns, endOnFailure: true, ...limit(o, started) },
    );

    report.phaseMs.preAuth = Date.now() - started - report.phaseMs.ws;
    // ---- HTTP bodies
    const routes: { path: string; schema: unknown; token?: string }[] = [
      { path: "/api/register", schema: RegisterRequest },
      { path: "/api/login", schema: LoginRequest },
      { path: "/api/token/refresh", schema: RefreshRequest },
      { path: "/api/password", schema: ChangePasswordRequest, token: dave.accessToken },
      { path: "/api/admin/invites", schema: CreateInviteRequest, token: carol.accessToken },
    ];
    const httpCase = fc.oneof(
      ...routes.map((r) =>
        fc.record({
          route: fc.constant(r),
          body: fuzzCases(r.schema as JsonSchema, hints, false),
          contentType: fc.oneof(
            { arbitrary: fc.constant("application/json"), weight: 8 },
            fc.constantFrom(
              "application/json; charset=utf-8",
              "text/plain",
              "application/x-www-form-urlencoded",
            ),
          ),
        }),
      ),
    );
    await fc.assert(
      fc.asyncProperty(httpCase, async ({ route, body, contentType }) => {
        report.cases.http += 1;
        const what = `POST ${route.path} ${body.how} ${body.text.slice(0, 200)}`;
        const res = await request<{ code?: string }>(ts, "POST", route.path, {
          rawBody: body.text,
          headers: { "content-type": contentType },
          ...(route.token ? { token: route.token } : {}),
        });
        bump(report.httpStatuses, `${route.path} ${res.status}${res.body?.code ? ` ${res.body.code}` : ""}`);
        if (res.status >= 500) problems.push(`${what}: status ${res.status} ${res.text.slice(0, 200)}`);
        if (res.status >= 400 && (!res.body?.code || !REGISTRY.has(res.body.code)))
          problems.push(`${what}: ${res.status} without a registry code: ${res.text.slice(0, 200)}`);
        if (report.cases.http % 25 === 0) await askBystander();
        return problems.length === 0;
      }),
      { seed: o.seed + 2, numRuns: o.httpRuns, endOnFailure: true, ...limit(o, started) },
    );

    report.phaseMs.http = Date.now() - started - report.phaseMs.ws - report.phaseMs.preAuth;
    await askBystander();
    const health = await request(ts, "GET", "/healthz");
    if (health.status !== 200) problems.push(`/healthz answered ${health.status} after fuzzing`);
    report.heapUsedMiB.end = gcHeapMiB();
    if (report.heapUsedMiB.baseline === 0) report.heapUsedMiB.baseline = report.heapUsedMiB.end;
  } catch (e) {
    problems.push(`fuzzing stopped: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    for (const s of sockets) s.close();
    process.off("unhandledRejection", onRejection);
    process.off("uncaughtException", onException);
  }
  for (const chunk of ts.logs.slice(logsBefore)) {
    for (const line of chunk.split("\n")) {
      if (!line.trim()) continue;
      try {
        const entry = JSON.parse(line) as { level?: number };
        if ((entry.level ?? 0) >= 50) problems.push(`error-level log: ${line.slice(0, 300)}`);
      } catch {
        // not a JSON line
      }
    }
  }
  return report;
}

function limit(
  o: FuzzOptions,
  started: number,
): { interruptAfterTimeLimit?: number; markInterruptAsFailure?: boolean } {
  if (o.timeLimitMs === undefined) return {};
  return {
    interruptAfterTimeLimit: Math.max(1, o.timeLimitMs - (Date.now() - started)),
    markInterruptAsFailure: false,
  };
}
