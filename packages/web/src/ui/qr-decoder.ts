/**
 * Reads QR codes from a playing <video>: the platform's BarcodeDetector where it exists and
 * knows QR (Chrome on Android and macOS, Safari 17+ on iOS), otherwise jsQR on a canvas copy
 * of the frame. jsQR is plain JavaScript: the CSP has no 'wasm-unsafe-eval', so a WebAssembly
 * decoder (zxing-wasm) would not run. It is imported only here, and this module only from the
 * scanner, so neither is in the first screen's bundle.
 */

/** Decodes the current frame of `video`; undefined when it shows no readable QR code. */
export type QrDecoder = (video: HTMLVideoElement) => Promise<string | undefined>;

interface DetectedBarcode {
  readonly rawValue: string;
}

interface BarcodeDetectorInstance {
  detect(source: HTMLVideoElement): Promise<DetectedBarcode[]>;
}

interface BarcodeDetectorClass {
  new (options: { formats: string[] }): BarcodeDetectorInstance;
  getSupportedFormats(): Promise<string[]>;
}

/** The largest frame side handed to jsQR: enough for a code filling a third of the view. */
const MAX_SIDE = 640;

async function platformDecoder(): Promise<QrDecoder | undefined> {
  const Detector = (globalThis as { BarcodeDetector?: BarcodeDetectorClass }).BarcodeDetector;
  if (Detector === undefined) return undefined;
  try {
    if (!(await Detector.getSupportedFormats()).includes("qr_code")) return undefined;
    const detector = new Detector({ formats: ["qr_code"] });
    return async (video) => (await detector.detect(video))[0]?.rawValue;
  } catch {
    return undefined;
  }
}

async function jsqrDecoder(): Promise<QrDecoder> {
  const { default: jsQR } = await import("jsqr");
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  if (context === null) throw new Error("no 2D canvas");
  return async (video) => {
    const { videoWidth: w, videoHeight: h } = video;
    if (w === 0 || h === 0) return undefined;
    const scale = Math.min(1, MAX_SIDE / Math.max(w, h));
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const image = context.getImageData(0, 0, canvas.width, canvas.height);
    return jsQR(image.data, image.width, image.height, { inversionAttempts: "attemptBoth" })?.data;
  };
}

/** The best decoder this browser offers. */
export async function createQrDecoder(): Promise<QrDecoder> {
  return (await platformDecoder()) ?? (await jsqrDecoder());
}
