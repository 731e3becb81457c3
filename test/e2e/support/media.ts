import { writeFile } from "node:fs/promises";
import exifr from "exifr";
import type { Page } from "playwright-core";

/**
 * Media the file tests send: a photo that carries EXIF with a GPS position (as a phone camera
 * writes it), a small PDF, and a WAV for Chromium's fake microphone. Made here, so the tests
 * need no binary fixtures; exifr (an independent EXIF reader) checks what arrives.
 */

/** Where the photo "was taken": exifr must read exactly this back from the original. */
export const PHOTO_GPS = { latitude: 48.8583, longitude: 2.2945 } as const;
export const PHOTO_CAMERA = "ParleyTestCam";

/** A JPEG of `width`×`height` drawn by the page's canvas (a gradient, so it compresses like a photo). */
export async function canvasJpeg(page: Page, width: number, height: number): Promise<Buffer> {
  // A string, evaluated in the page: this file is type-checked without the DOM's types.
  const dataUrl = await page.evaluate<string>(`(() => {
    const canvas = document.createElement("canvas");
    canvas.width = ${width};
    canvas.height = ${height};
    const ctx = canvas.getContext("2d");
    const g = ctx.createLinearGradient(0, 0, ${width}, ${height});
    g.addColorStop(0, "#0f766e");
    g.addColorStop(1, "#f59e0b");
    ctx.fillStyle = g;
    ctx.fillRect(0, 0, ${width}, ${height});
    ctx.fillStyle = "#fff";
    ctx.fillRect(${width / 4}, ${height / 4}, ${width / 2}, ${height / 8});
    return canvas.toDataURL("image/jpeg", 0.9);
  })()`);
  return Buffer.from(dataUrl.slice(dataUrl.indexOf(",") + 1), "base64");
}

/**
 * `jpeg` with an EXIF APP1 segment right after SOI: IFD0 with Make and a GPS IFD pointer, and a
 * GPS IFD with latitude and longitude (TIFF 6.0 §2, EXIF 2.32 §4.6.6; little-endian).
 */
export function withExifGps(jpeg: Buffer): Buffer {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error("not a JPEG");
  const make = Buffer.from(`${PHOTO_CAMERA}\0`, "ascii");
  const ifd0 = 8;
  const ifd0Size = 2 + 2 * 12 + 4;
  const makeAt = ifd0 + ifd0Size;
  const gpsIfd = makeAt + make.length + (make.length % 2);
  const gpsSize = 2 + 4 * 12 + 4;
  const latAt = gpsIfd + gpsSize;
  const lonAt = latAt + 24;
  const tiff = Buffer.alloc(lonAt + 24);
  tiff.write("II", 0, "ascii");
  tiff.writeUInt16LE(42, 2);
  tiff.writeUInt32LE(ifd0, 4);
  const entry = (at: number, tag: number, type: number, count: number, value: number | Buffer) => {
    tiff.writeUInt16LE(tag, at);
    tiff.writeUInt16LE(type, at + 2);
    tiff.writeUInt32LE(count, at + 4);
    if (typeof value === "number") tiff.writeUInt32LE(value, at + 8);
    else value.copy(tiff, at + 8);
  };
  tiff.writeUInt16LE(2, ifd0);
  entry(ifd0 + 2, 0x010f, 2, make.length, makeAt); // Make, ASCII
  entry(ifd0 + 14, 0x8825, 4, 1, gpsIfd); // GPSInfo IFD pointer, LONG
  make.copy(tiff, makeAt);
  tiff.writeUInt16LE(4, gpsIfd);
  entry(gpsIfd + 2, 0x0001, 2, 2, Buffer.from("N\0\0\0", "ascii")); // GPSLatitudeRef
  entry(gpsIfd + 14, 0x0002, 5, 3, latAt); // GPSLatitude, 3 RATIONAL
  entry(gpsIfd + 26, 0x0003, 2, 2, Buffer.from("E\0\0\0", "ascii")); // GPSLongitudeRef
  entry(gpsIfd + 38, 0x0004, 5, 3, lonAt); // GPSLongitude
  const dms = (at: number, degrees: number) => {
    const d = Math.floor(degrees);
    const m = Math.floor((degrees - d) * 60);
    const s = Math.round(((degrees - d) * 60 - m) * 60 * 10_000);
    for (const [i, [n, q]] of [
      [d, 1],
      [m, 1],
      [s, 10_000],
    ].entries()) {
      tiff.writeUInt32LE(n!, at + i * 8);
      tiff.writeUInt32LE(q!, at + i * 8 + 4);
    }
  };
  dms(latAt, PHOTO_GPS.latitude);
  dms(lonAt, PHOTO_GPS.longitude);
  const body = Buffer.concat([Buffer.from("Exif\0\0", "ascii"), tiff]);
  const header = Buffer.alloc(4);
  header.writeUInt16BE(0xffe1, 0);
  header.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), header, body, jpeg.subarray(2)]);
}

/** What exifr reads of a photo's metadata: its GPS position and camera make, if any. */
export async function photoMetadata(
  bytes: Buffer,
): Promise<{ gps?: { latitude: number; longitude: number }; make?: string }> {
  const tags = (await exifr.parse(bytes, { tiff: true, gps: true, xmp: true, iptc: true })) as
    | Record<string, unknown>
    | undefined;
  const gps = await exifr.gps(bytes).catch(() => undefined);
  return {
    ...(gps !== undefined && Number.isFinite(gps.latitude) ? { gps } : {}),
    ...(typeof tags?.Make === "string" ? { make: tags.Make } : {}),
  };
}

/** The width and height in a JPEG's SOF marker. */
export function jpegSize(bytes: Buffer): { width: number; height: number } | undefined {
  let at = 2;
  while (at + 9 < bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1]!;
    const length = bytes.readUInt16BE(at + 2);
    if (marker >= 0xc0 && marker <= 0xc3) {
      return { height: bytes.readUInt16BE(at + 5), width: bytes.readUInt16BE(at + 7) };
    }
    at += 2 + length;
  }
  return undefined;
}

/**
 * A mono 16-bit 48 kHz WAV for Chromium's fake microphone: a 440 Hz tone whose loudness swells
 * and fades twice a second, so a recording of it has a waveform with a shape, not a flat bar.
 */
export async function writeToneWav(path: string, seconds: number): Promise<void> {
  const rate = 48_000;
  const n = rate * seconds;
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const envelope = 0.15 + 0.85 * Math.abs(Math.sin(Math.PI * 2 * t));
    data.writeInt16LE(Math.round(Math.sin(2 * Math.PI * 440 * t) * envelope * 0.8 * 32767), i * 2);
  }
  const header = Buffer.alloc(44);
  header.write("RIFF", 0, "ascii");
  header.writeUInt32LE(36 + data.length, 4);
  header.write("WAVE", 8, "ascii");
  header.write("fmt ", 12, "ascii");
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36, "ascii");
  header.writeUInt32LE(data.length, 40);
  await writeFile(path, Buffer.concat([header, data]));
}

/** A one-page PDF that says `text` (PDF 1.4, uncompressed, with a correct xref table). */
export function tinyPdf(text: string): Buffer {
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    `<< /Length ${`BT /F1 18 Tf 20 70 Td (${text}) Tj ET`.length} >>\nstream\nBT /F1 18 Tf 20 70 Td (${text}) Tj ET\nendstream`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  let out = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, "0")} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, "latin1");
}
