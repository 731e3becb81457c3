// The server started as its own process (`node packages/server/src/main.ts`), as an operator
// runs it: for tests of signals, restarts and what the process environment does to it.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { TestServer } from "./harness.js";

const MAIN = fileURLToPath(new URL("../../../packages/server/src/main.ts", import.meta.url));

/** The server as its own process on `dataDir`, once it logs that it listens. */
export async function startProcess(dataDir: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ["--conditions=parley-source", "--import", "tsx", MAIN], {
    env: {
      ...process.env,
      PARLEY_HOST: "127.0.0.1",
      PARLEY_PORT: "0",
      PARLEY_DATA_DIR: dataDir,
      PARLEY_MDNS: "off",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout });
  const linesClosed = new Promise((resolve) => lines.once("close", resolve));
  const events: Record<string, unknown>[] = [];
  try {
    const listening = await new Promise<{ urls: string[] }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("server did not start within 30 s")), 30_000);
      lines.on("line", (line) => {
        const entry = JSON.parse(line) as Record<string, unknown>;
        events.push(entry);
        if (entry.event === "listening") {
          clearTimeout(timer);
          resolve(entry as unknown as { urls: string[] });
        }
      });
      child.once("exit", () => reject(new Error("server exited before listening")));
    });
    const url = listening.urls[0] ?? "";
    const ca = await readFile(join(dataDir, "tls", "ca.crt"), "utf8");
    const ts = { url, ca, wsUrl: `${url.replace(/^https/, "wss")}/ws` } as unknown as TestServer;
    return { child, exited, linesClosed, events, url, ts };
  } catch (e) {
    child.kill("SIGKILL");
    await exited;
    throw e;
  }
}
