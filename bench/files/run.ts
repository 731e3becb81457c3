/**
 * `npm run bench:files`: upload and download throughput of one file (100 MB by default,
 * `--mb N`) through the Parley SDK (encrypted, chunked, resumable, over HTTPS) against a plain
 * node:https stream of the same bytes to and from a file on the same machine, in the same run,
 * with the server process's resident memory sampled every 50 ms during each phase. The server
 * runs in its own process (server-child.ts); this process is the client. Prints a Markdown
 * table; every transfer is bounded by its size and a 10-minute watchdog.
 */
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { request } from "node:https";
import { fileURLToPath } from "node:url";
import { type FileSource, MemoryStore, ParleyClient } from "@parley/client";
import { pinnedWebSocket } from "../../packages/cli/src/chat/websocket.js";
import { trustedFetch } from "../../packages/cli/src/https-fetch.js";
import { readProcess } from "../system/proc.js";

const mbArg = process.argv.indexOf("--mb");
const SIZE = (mbArg > 0 ? Number(process.argv[mbArg + 1]) : 100) * 1_000_000;
const PASSWORD = "Quiet-Harbour-Lamp-7";

const child = fork(fileURLToPath(new URL("./server-child.ts", import.meta.url)), [], {
  execArgv: ["--conditions=parley-source", "--import", "tsx"],
  stdio: ["ignore", "inherit", "inherit", "ipc"],
});
const watchdog = setTimeout(() => {
  child.kill("SIGKILL");
  process.exit(2);
}, 600_000);
const urls = await new Promise<{ parley: string; plain: string; ca: string }>((resolve) =>
  child.once("message", resolve as never),
);

/** Bytes made on the fly from one random block (the same for both paths). */
const block = randomBytes(1 << 20);
const source: FileSource = {
  size: SIZE,
  async read(offset, length) {
    const out = Buffer.allocUnsafe(length);
    for (let at = 0; at < length; ) {
      const from = (offset + at) % block.length;
      const n = Math.min(block.length - from, length - at);
      block.copy(out, at, from, from + n);
      at += n;
    }
    return out;
  },
};

/** Runs `work`, sampling the server's RSS; returns seconds and the peak. */
async function phase(work: () => Promise<void>): Promise<{ s: number; peakRss: number; startRss: number }> {
  const startRss = (await readProcess(child.pid!))?.rssBytes ?? 0;
  let peakRss = startRss;
  const timer = setInterval(async () => {
    peakRss = Math.max(peakRss, (await readProcess(child.pid!))?.rssBytes ?? 0);
  }, 50);
  const t = performance.now();
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return { s: (performance.now() - t) / 1000, peakRss, startRss };
}

async function client(name: string): Promise<{ c: ParleyClient; id: string }> {
  const c = new ParleyClient({
    baseUrl: urls.parley,
    fetch: trustedFetch({ ca: urls.ca, timeoutMs: 120_000 }),
    WebSocket: pinnedWebSocket(urls.ca),
    store: new MemoryStore(),
  });
  const u = await c.register(`${name}${randomBytes(3).toString("hex")}`, PASSWORD);
  await c.connect();
  return { c, id: u.id };
}

function plainPut(): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${urls.plain}/blob`,
      { method: "PUT", ca: urls.ca, headers: { "content-length": String(SIZE) } },
      (res) => {
        res.resume();
        res.on("end", () =>
          res.statusCode === 204 ? resolve() : reject(new Error(`PUT ${res.statusCode}`)),
        );
      },
    );
    req.on("error", reject);
    let at = 0;
    const next = async () => {
      while (at < SIZE) {
        const n = Math.min(1 << 20, SIZE - at);
        const chunk = await source.read(at, n);
        at += n;
        if (!req.write(chunk)) return void req.once("drain", next);
      }
      req.end();
    };
    void next();
  });
}

function plainGet(): Promise<void> {
  return new Promise((resolve, reject) => {
    request(`${urls.plain}/blob`, { ca: urls.ca }, (res) => {
      let got = 0;
      res.on("data", (c: Buffer) => {
        got += c.length;
      });
      res.on("end", () => (got === SIZE ? resolve() : reject(new Error(`GET got ${got}`))));
      res.on("error", reject);
    })
      .on("error", reject)
      .end();
  });
}

const alice = await client("alice");
const bob = await client("bob");
const room = await alice.c.createRoom("bench", { isPublic: false });
await alice.c.invite(room.id, bob.id);
await bob.c.join(room.id);

const rows: [string, Awaited<ReturnType<typeof phase>>][] = [];
rows.push(["plain node:https PUT (to a file)", await phase(plainPut)]);
rows.push(["plain node:https GET (from the file)", await phase(plainGet)]);
let descriptor: Awaited<ReturnType<ParleyClient["uploadFile"]>> | undefined;
rows.push([
  "Parley upload (encrypt + 1 MiB PATCHes)",
  await phase(async () => {
    descriptor = await alice.c.uploadFile(room.id, source, { name: "bench.zip", type: "application/zip" });
  }),
]);
rows.push([
  "Parley download (range GETs + decrypt + SHA-256)",
  await phase(async () => {
    await bob.c.downloadFile(descriptor!, { write: () => undefined });
  }),
]);

const mb = (n: number) => (n / 1e6).toFixed(1);
const lines = [
  `${SIZE / 1e6} MB, client and server on this machine (${process.version}), TLS on both paths.`,
  "",
  "| path | seconds | MB/s | server RSS at start | server RSS peak |",
  "| --- | ---: | ---: | ---: | ---: |",
  ...rows.map(
    ([name, r]) =>
      `| ${name} | ${r.s.toFixed(2)} | ${(SIZE / 1e6 / r.s).toFixed(1)} | ${mb(r.startRss)} MB | ${mb(r.peakRss)} MB |`,
  ),
];
process.stdout.write(`${lines.join("\n")}\n`);

await alice.c.close();
await bob.c.close();
child.send("stop");
await new Promise((resolve) => child.once("exit", resolve));
clearTimeout(watchdog);
