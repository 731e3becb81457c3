import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Locator } from "playwright-core";
import QRCode from "qrcode";

/** A QR code as its grid of modules, quiet zone included: true is dark. */
export type QrModules = readonly (readonly boolean[])[];

const WIDTH = 640;
const HEIGHT = 480;

/**
 * A camera for Chromium that films whatever QR code the test puts in front of it: Chromium's
 * fake capture device plays a raw YUV4MPEG2 file, which this class rewrites before each scan
 * (Chromium opens the file each time a page starts the camera). The flags are for the test
 * files that scan, passed to their own Chromium; the other files' browsers have no camera.
 */
export class FakeCamera {
  readonly #dir: string;

  private constructor(dir: string) {
    this.#dir = dir;
  }

  static async create(): Promise<FakeCamera> {
    const camera = new FakeCamera(await mkdtemp(join(tmpdir(), "parley-camera-")));
    await camera.show(undefined);
    return camera;
  }

  get #file(): string {
    return join(this.#dir, "camera.y4m");
  }

  /** The Chromium flags: this file as the only camera, and camera permission granted without a prompt. */
  get chromiumArgs(): string[] {
    return [
      "--use-fake-device-for-media-stream",
      "--use-fake-ui-for-media-stream",
      `--use-file-for-fake-video-capture=${this.#file}`,
    ];
  }

  /** Films `modules` (centred, on white) from the next camera start on; undefined films a blank page. */
  async show(modules: QrModules | undefined): Promise<void> {
    const next = join(this.#dir, "next.y4m");
    await writeFile(next, y4mFrame(modules));
    await rename(next, this.#file);
  }

  async close(): Promise<void> {
    await rm(this.#dir, { recursive: true, force: true });
  }
}

/** One YUV4MPEG2 4:2:0 frame, grey only (chroma at 128); Chromium loops it. */
function y4mFrame(modules: QrModules | undefined): Buffer {
  const luma = Buffer.alloc(WIDTH * HEIGHT, 235);
  if (modules !== undefined && modules.length > 0) {
    const n = modules.length;
    const scale = Math.floor((Math.min(WIDTH, HEIGHT) * 0.8) / n);
    const left = Math.floor((WIDTH - n * scale) / 2);
    const top = Math.floor((HEIGHT - n * scale) / 2);
    for (let y = 0; y < n * scale; y++) {
      const row = modules[Math.floor(y / scale)]!;
      for (let x = 0; x < n * scale; x++) {
        if (row[Math.floor(x / scale)]) luma[(top + y) * WIDTH + left + x] = 16;
      }
    }
  }
  const chroma = Buffer.alloc((WIDTH / 2) * (HEIGHT / 2) * 2, 128);
  const header = Buffer.from(`YUV4MPEG2 W${WIDTH} H${HEIGHT} F10:1 Ip A1:1\nFRAME\n`, "ascii");
  return Buffer.concat([header, luma, chroma]);
}

/** The modules of a QR code for `text`, made with the same library and settings as the app's. */
export function qrModulesOf(text: string, quiet = 4): QrModules {
  const qr = QRCode.create(text, { errorCorrectionLevel: "M" });
  const size = qr.modules.size;
  return Array.from({ length: size + quiet * 2 }, (_, y) =>
    Array.from({ length: size + quiet * 2 }, (_, x) => {
      const mx = x - quiet;
      const my = y - quiet;
      return mx >= 0 && my >= 0 && mx < size && my < size && Boolean(qr.modules.get(my, mx));
    }),
  );
}

/**
 * The modules of a QR code as another person's page draws it (packages/web/src/ui/qr-code.tsx:
 * one SVG path of 1×1 squares, quiet zone in the viewBox): what their screen shows the camera.
 */
export async function qrModulesOnScreen(svg: Locator): Promise<QrModules> {
  const viewBox = (await svg.getAttribute("viewBox")) ?? "";
  const size = Number(viewBox.split(/\s+/)[2]);
  const d = (await svg.locator("path").getAttribute("d")) ?? "";
  if (!(size > 0) || d === "") throw new Error(`not a QR code drawing: viewBox "${viewBox}"`);
  const grid = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  for (const m of d.matchAll(/M(\d+) (\d+)h1v1h-1z/g)) grid[Number(m[2])]![Number(m[1])] = true;
  return grid;
}
