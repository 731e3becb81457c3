/**
 * The server side of bench/files/run.ts, in a process of its own so that its memory is its
 * own: a Parley server (disk file store, in a temporary data dir) and, on the same TLS
 * certificate, a plain node:https server that streams a PUT body to a file and a GET from it,
 * the reference for the same bytes. Tells its parent the URLs and CA over IPC.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { configWith } from "../../packages/server/src/config/config.js";
import { createLogger } from "../../packages/server/src/ops/logger.js";
import { startServer } from "../../packages/server/src/server.js";

const dataDir = await mkdtemp(join(tmpdir(), "parley-bench-files-"));
const config = configWith({
  host: "127.0.0.1",
  port: 0,
  dataDir,
  logLevel: "warn",
  mdns: "off",
  fileMaxBytes: 512 * 1024 * 1024,
  fileQuotaBytes: 2 ** 31,
  fileStore: "disk",
});
const parley = await startServer(config, { log: createLogger("warn") });

const blob = join(dataDir, "plain.bin");
const plain = createServer(
  {
    key: await readFile(join(dataDir, "tls", "server.key")),
    cert: await readFile(join(dataDir, "tls", "server.crt")),
  },
  (req, res) => {
    const done = (status: number) => res.writeHead(status).end();
    if (req.method === "PUT") {
      pipeline(req, createWriteStream(blob, { mode: 0o600 })).then(
        () => done(204),
        () => done(500),
      );
    } else if (req.method === "GET") {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      pipeline(createReadStream(blob), res).catch(() => res.destroy());
    } else done(405);
  },
);
await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
const port = (plain.address() as { port: number }).port;

process.send?.({ parley: parley.url, plain: `https://127.0.0.1:${port}`, ca: parley.caCertPem });
process.on("message", async (m) => {
  if (m !== "stop") return;
  plain.close();
  await parley.close();
  await rm(dataDir, { recursive: true, force: true });
  process.exit(0);
});
