import { randomBytes } from "node:crypto";
import { open, readFile, rename, unlink } from "node:fs/promises";

/** Reads a UTF-8 file, or returns undefined if it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Creates `path` with `mode` from the start (no window where a key is world-readable); fails if it exists. */
export async function writeNewFile(path: string, data: string, mode: number): Promise<void> {
  const file = await open(path, "wx", mode);
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** Writes a sibling temporary file and renames it over `path`, so readers see old or new, never half. */
export async function replaceFile(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeNewFile(tmp, data, mode);
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => {});
    throw error;
  }
}
