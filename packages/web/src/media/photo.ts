import { fitWithin } from "./dimensions.js";

/**
 * A photo made ready to send: its metadata stripped (EXIF, GPS, camera serials, XMP, comments)
 * by drawing it on a canvas and encoding the pixels again, with its orientation applied first
 * so nothing turns sideways; its size; and a thumbnail of a few KB that travels inside the
 * encrypted message, so the conversation shows something before the photo is downloaded.
 * Loaded only when a photo is attached (composer), never with the first screen.
 */
export interface PreparedPhoto {
  /** What is encrypted and uploaded: the re-encoded photo, or the original when kept. */
  readonly blob: Blob;
  readonly mime: string;
  readonly width: number;
  readonly height: number;
  readonly thumbnail: Blob;
  /** False when the sender kept the original (and so its metadata) or the type is not re-encoded. */
  readonly stripped: boolean;
}

/** Photos re-encoded to drop their metadata. GIF is sent as it is: re-encoding would stop its animation, and it carries no EXIF. */
export const STRIPPED_TYPES: ReadonlySet<string> = new Set(["image/jpeg", "image/png", "image/webp"]);

/** Longest side of a thumbnail, in pixels (CSS shows it at half that on a 2x screen). */
const THUMB_SIDE = 200;
/** A thumbnail larger than this is made again smaller: it rides in the MLS message. */
const THUMB_MAX_BYTES = 8 * 1024;
/** JPEG and WebP quality of a re-encoded photo: visually the same, a fraction of the metadata-free original. */
const PHOTO_QUALITY = 0.92;

export async function preparePhoto(
  file: Blob,
  mime: string,
  { keepMetadata = false }: { keepMetadata?: boolean } = {},
): Promise<PreparedPhoto> {
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  try {
    const { width, height } = bitmap;
    const thumbnail = await makeThumbnail(bitmap);
    if (keepMetadata || !STRIPPED_TYPES.has(mime)) {
      return { blob: file, mime, width, height, thumbnail, stripped: false };
    }
    const blob = await encode(bitmap, width, height, mime, PHOTO_QUALITY);
    return { blob, mime: blob.type || mime, width, height, thumbnail, stripped: true };
  } finally {
    bitmap.close();
  }
}

async function makeThumbnail(bitmap: ImageBitmap): Promise<Blob> {
  let side = THUMB_SIDE;
  let quality = 0.7;
  for (let attempt = 0; attempt < 4; attempt++) {
    const { width, height } = fitWithin(bitmap.width, bitmap.height, side);
    let blob = await encode(bitmap, width, height, "image/webp", quality);
    // A browser that cannot encode WebP gives PNG, far larger than JPEG for a photo.
    if (blob.type !== "image/webp") blob = await encode(bitmap, width, height, "image/jpeg", quality);
    if (blob.size <= THUMB_MAX_BYTES || attempt === 3) return blob;
    side = Math.round(side * 0.75);
    quality -= 0.15;
  }
  throw new Error("unreachable");
}

async function encode(
  bitmap: ImageBitmap,
  width: number,
  height: number,
  type: string,
  quality: number,
): Promise<Blob> {
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext("2d");
  if (ctx === null) throw new Error("This browser cannot draw images.");
  if (type === "image/jpeg") {
    // JPEG has no transparency: a transparent PNG turned JPEG would go black.
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, width, height);
  }
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(bitmap, 0, 0, width, height);
  return canvas.convertToBlob({ type, quality });
}
