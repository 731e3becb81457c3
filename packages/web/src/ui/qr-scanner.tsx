import { useEffect, useRef, useState } from "preact/hooks";
import { createQrDecoder } from "./qr-decoder.js";

/** How often a frame is decoded: often enough to feel instant, rare enough for a phone's battery. */
const FRAME_INTERVAL_MS = 150;

/** What the user reads when the camera cannot be used, by the DOMException's name. */
export function cameraProblem(e: unknown): string {
  const name = e instanceof Error || e instanceof DOMException ? e.name : "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return "Camera access was denied. Allow the camera for this site in your browser's settings, or compare the digits instead.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No camera was found on this device. Compare the digits instead.";
    case "NotReadableError":
    case "AbortError":
      return "The camera could not be started: another app may be using it. Close it and try again.";
    default:
      return "The camera could not be started in this browser. Compare the digits instead.";
  }
}

/**
 * A live camera view that reads one QR code and hands its text to `onCode`, then stops. The
 * rear camera is preferred on phones. The camera is released when the scanner unmounts; to
 * scan again, mount a new one (change its `key`).
 */
export function QrScanner({ label, onCode }: { label: string; onCode: (text: string) => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [state, setState] = useState<"starting" | "scanning" | { problem: string }>("starting");
  // The latest onCode, without restarting the camera when the parent renders a new function.
  const handler = useRef(onCode);
  handler.current = onCode;

  useEffect(() => {
    let stopped = false;
    let stream: MediaStream | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const start = async () => {
      if (navigator.mediaDevices?.getUserMedia === undefined) {
        throw new DOMException("no mediaDevices", "NotSupportedError");
      }
      const [media, decode] = await Promise.all([
        navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }),
        createQrDecoder(),
      ]);
      stream = media;
      const el = video.current;
      if (stopped || el === null) return;
      el.srcObject = media;
      await el.play();
      if (stopped) return;
      setState("scanning");
      const tick = async () => {
        if (stopped) return;
        let text: string | undefined;
        try {
          text = await decode(el);
        } catch {
          // A frame that cannot be read (not decoded yet, resized): try the next one.
        }
        if (stopped) return;
        if (text !== undefined && text !== "") {
          stopped = true;
          for (const track of media.getTracks()) track.stop();
          handler.current(text);
          return;
        }
        timer = setTimeout(() => void tick(), FRAME_INTERVAL_MS);
      };
      void tick();
    };
    start().catch((e: unknown) => {
      if (!stopped) setState({ problem: cameraProblem(e) });
    });
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      for (const track of stream?.getTracks() ?? []) track.stop();
    };
  }, []);

  return (
    <div class="qr-scanner">
      {typeof state === "object" ? (
        <p role="alert" class="scan-problem">
          {state.problem}
        </p>
      ) : (
        <>
          <video ref={video} class="qr-video" aria-label={label} muted playsInline />
          <p role="status" class="muted">
            {state === "starting" ? "Starting the camera…" : "Hold the code inside the frame."}
          </p>
        </>
      )}
    </div>
  );
}
