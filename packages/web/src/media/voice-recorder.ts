import { levelOf, peaksOf } from "./waveform.js";

/**
 * Records a voice note from the microphone with MediaRecorder, reporting the live level for the
 * meter, and gives the recording with its duration and waveform peaks. Loaded only when a
 * recording starts.
 */
export interface VoiceNote {
  readonly blob: Blob;
  readonly mime: string;
  readonly durationMs: number;
  readonly peaks: number[];
}

/** A voice note stops by itself at this length. */
export const MAX_VOICE_MS = 5 * 60_000;

/** The first container the browser records: Opus in WebM (Chromium, Firefox), else MP4 (Safari). */
const TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4"] as const;

export class VoiceRecorder {
  readonly #stream: MediaStream;
  readonly #recorder: MediaRecorder;
  readonly #audio: AudioContext;
  readonly #chunks: Blob[] = [];
  readonly #started = performance.now();
  readonly #meter: ReturnType<typeof setInterval>;
  readonly #limit: ReturnType<typeof setTimeout>;
  readonly #done: Promise<Blob>;

  private constructor(stream: MediaStream, onLevel: (level: number) => void, onLimit: () => void) {
    this.#stream = stream;
    const mimeType = TYPES.find((t) => MediaRecorder.isTypeSupported(t));
    this.#recorder = new MediaRecorder(stream, mimeType === undefined ? {} : { mimeType });
    this.#audio = new AudioContext();
    const analyser = this.#audio.createAnalyser();
    analyser.fftSize = 1024;
    this.#audio.createMediaStreamSource(stream).connect(analyser);
    const frame = new Uint8Array(analyser.fftSize);
    this.#meter = setInterval(() => {
      analyser.getByteTimeDomainData(frame);
      onLevel(levelOf(frame));
    }, 50);
    this.#limit = setTimeout(onLimit, MAX_VOICE_MS);
    this.#done = new Promise<Blob>((resolve, reject) => {
      this.#recorder.ondataavailable = (e) => {
        if (e.data.size > 0) this.#chunks.push(e.data);
      };
      this.#recorder.onstop = () => resolve(new Blob(this.#chunks, { type: this.#recorder.mimeType }));
      this.#recorder.onerror = () => reject(new Error("The recording failed."));
    });
    this.#recorder.start(250);
  }

  /** Asks for the microphone (the browser may prompt) and starts recording. */
  static async start(onLevel: (level: number) => void, onLimit: () => void): Promise<VoiceRecorder> {
    if (typeof MediaRecorder === "undefined" || navigator.mediaDevices === undefined) {
      throw new Error("This browser cannot record audio here (it needs HTTPS and a microphone).");
    }
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    return new VoiceRecorder(stream, onLevel, onLimit);
  }

  /** Stops and gives the recording, its duration and its waveform. */
  async stop(): Promise<VoiceNote> {
    const elapsed = performance.now() - this.#started;
    if (this.#recorder.state !== "inactive") this.#recorder.stop();
    try {
      const blob = await this.#done;
      const mime = (blob.type || "audio/webm").split(";")[0]!;
      // MediaRecorder's WebM has no duration in its header: decode it for the true length and the peaks.
      try {
        const decoded = await this.#audio.decodeAudioData(await blob.arrayBuffer());
        return {
          blob,
          mime,
          durationMs: Math.round(decoded.duration * 1000),
          peaks: peaksOf(decoded.getChannelData(0)),
        };
      } catch {
        return { blob, mime, durationMs: Math.round(elapsed), peaks: [] };
      }
    } finally {
      this.#release();
    }
  }

  /** Stops and throws the recording away. */
  cancel(): void {
    if (this.#recorder.state !== "inactive") this.#recorder.stop();
    this.#release();
  }

  #release(): void {
    clearInterval(this.#meter);
    clearTimeout(this.#limit);
    for (const track of this.#stream.getTracks()) track.stop();
    void this.#audio.close().catch(() => undefined);
  }
}
