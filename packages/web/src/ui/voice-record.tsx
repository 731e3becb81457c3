import { useEffect, useRef, useState } from "preact/hooks";
import type { VoiceNote, VoiceRecorder } from "../media/voice-recorder.js";
import { formatDuration } from "../media/waveform.js";
import { Mic, Square, Trash2 } from "./icons.js";

/** Bars of the live meter: the last few seconds of levels. */
const METER_BARS = 48;

/**
 * The microphone button: click to start and click Stop on a desktop; on a touch screen, hold to
 * record and let go to stop. The recording is handed on (staged in the composer, where it can
 * be marked view once); a live waveform shows while it runs. The recorder is loaded on first use.
 */
export function VoiceButton({
  disabled,
  onRecorded,
  onError,
}: {
  disabled: boolean;
  onRecorded: (note: VoiceNote) => void;
  onError: (message: string) => void;
}) {
  const recorder = useRef<VoiceRecorder | undefined>(undefined);
  const starting = useRef<Promise<void> | undefined>(undefined);
  const [levels, setLevels] = useState<number[]>([]);
  const [since, setSince] = useState<number | undefined>(undefined);
  const [now, setNow] = useState(0);
  const held = useRef(false);
  /** Stop was asked for (a touch let go) while the microphone was still opening. */
  const pendingStop = useRef(false);
  /** The last press was a touch: its click is not a toggle. */
  const touched = useRef(false);

  useEffect(() => () => recorder.current?.cancel(), []);

  const start = () => {
    if (starting.current !== undefined || recorder.current !== undefined) return;
    setLevels([]);
    starting.current = import("../media/voice-recorder.js")
      .then(({ VoiceRecorder }) =>
        VoiceRecorder.start(
          (level) => {
            setLevels((l) => [...l.slice(-(METER_BARS - 1)), level]);
            setNow(performance.now());
          },
          () => void stop(),
        ),
      )
      .then(
        (r) => {
          recorder.current = r;
          setSince(performance.now());
          if (pendingStop.current) void stop();
        },
        (e: unknown) => onError(microphoneError(e)),
      )
      .finally(() => {
        starting.current = undefined;
      });
  };
  const stop = async () => {
    pendingStop.current = false;
    const r = recorder.current;
    if (r === undefined) {
      if (starting.current !== undefined) pendingStop.current = true;
      return;
    }
    recorder.current = undefined;
    setSince(undefined);
    try {
      const note = await r.stop();
      if (note.blob.size > 0) onRecorded(note);
    } catch (e) {
      onError(e instanceof Error ? e.message : "The recording failed.");
    }
  };
  const cancel = () => {
    recorder.current?.cancel();
    recorder.current = undefined;
    setSince(undefined);
  };

  const recording = since !== undefined;
  return (
    <>
      {recording && (
        <fieldset class="recording" aria-label="Recording a voice note">
          <span class="rec-dot" aria-hidden="true" />
          <Meter levels={levels} />
          <span class="small-text" data-testid="recording-time">
            {formatDuration(Math.max(0, now - since))}
          </span>
          <button type="button" class="small" onClick={cancel}>
            <Trash2 />
            Discard
          </button>
        </fieldset>
      )}
      <button
        type="button"
        class={`icon${recording ? " recording-on" : ""}`}
        aria-label={recording ? "Stop recording" : "Record a voice note"}
        title={recording ? "Stop recording" : "Record a voice note (hold on a touch screen)"}
        aria-pressed={recording}
        disabled={disabled}
        onPointerDown={(e) => {
          // A mouse or pen press: its click toggles, whatever a touch before it left behind.
          if (e.pointerType !== "touch") {
            touched.current = false;
            return;
          }
          held.current = true;
          touched.current = true;
          // The release counts even if the finger slides off the button.
          try {
            e.currentTarget.setPointerCapture(e.pointerId);
          } catch {
            // Not an active pointer (a synthetic event): nothing to capture.
          }
          start();
        }}
        onPointerUp={(e) => {
          if (e.pointerType !== "touch" || !held.current) return;
          held.current = false;
          void stop();
        }}
        onPointerCancel={() => {
          if (held.current) cancel();
          held.current = false;
        }}
        onContextMenu={(e) => e.preventDefault()}
        onKeyDown={() => {
          touched.current = false;
        }}
        onClick={() => {
          // A touch was handled by its press and release; the click after it is not a toggle.
          if (touched.current) {
            touched.current = false;
            return;
          }
          if (recording) void stop();
          else start();
        }}
      >
        {recording ? <Square /> : <Mic />}
      </button>
    </>
  );
}

/** The live waveform: one bar per level, newest on the right. */
function Meter({ levels }: { levels: readonly number[] }) {
  return (
    <svg class="meter" viewBox={`0 0 ${METER_BARS * 3} 24`} aria-hidden="true" data-testid="live-waveform">
      {levels.map((l, i) => {
        const h = Math.max(1, Math.round(Math.min(1, l * 3) * 22));
        const x = (METER_BARS - levels.length + i) * 3;
        return <rect key={x} x={x} y={12 - h / 2} width={2} height={h} rx={1} />;
      })}
    </svg>
  );
}

function microphoneError(e: unknown): string {
  const name = e instanceof DOMException ? e.name : "";
  if (name === "NotAllowedError")
    return "The microphone is blocked for this page: allow it in the browser's site settings.";
  if (name === "NotFoundError") return "This device has no microphone.";
  return e instanceof Error ? e.message : "The microphone could not be opened.";
}
