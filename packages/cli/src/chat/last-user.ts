// Remembers who signed in last on a server, so the next `parley chat` resumes their session.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { serverStateDir } from "./device-state.js";

const FILE = "last-user";

/**
 * Who signed in last on a server, so the next `parley chat` resumes that session without a
 * password. The name only; the session itself is in that user's sealed device state.
 */
export function lastUserFile(configDir: string, origin: string) {
  const file = join(serverStateDir(configDir, origin), FILE);
  return {
    async get(): Promise<string | undefined> {
      try {
        const name = (await readFile(file, "utf8")).trim();
        return name === "" ? undefined : name;
      } catch (e) {
        if ((e as { code?: string }).code === "ENOENT") return undefined;
        throw e;
      }
    },
    async set(username: string | undefined): Promise<void> {
      if (username === undefined) {
        await rm(file, { force: true });
        return;
      }
      await mkdir(serverStateDir(configDir, origin), { recursive: true, mode: 0o700 });
      const tmp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
      await writeFile(tmp, `${username}\n`, { mode: 0o600, flag: "wx" });
      await rename(tmp, file);
    },
  };
}
