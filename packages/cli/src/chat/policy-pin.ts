// Keeps the server's pinned signed policy (POLICY-2) in a file beside the last user.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { PolicyPinStore } from "@parley/client";
import { serverStateDir } from "./device-state.js";

/**
 * POLICY-2: where the terminal keeps the server's pinned policy: one file per server in its
 * state dir, beside the last user (the CA pin is in known-servers.json). Not secret, so not
 * sealed; written atomically.
 */
export function policyPinFile(configDir: string, origin: string): PolicyPinStore {
  const dir = serverStateDir(configDir, origin);
  const file = (key: string) => join(dir, `${key.startsWith("policy-pin:") ? "policy-pin" : "pin"}.json`);
  return {
    async get(key) {
      try {
        return await readFile(file(key), "utf8");
      } catch (e) {
        if ((e as { code?: string }).code === "ENOENT") return undefined;
        throw e;
      }
    },
    async set(key, value) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const tmp = `${file(key)}.${randomBytes(6).toString("hex")}.tmp`;
      await writeFile(tmp, value, { mode: 0o600, flag: "wx" });
      await rename(tmp, file(key));
    },
  };
}
