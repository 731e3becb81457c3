import type { ChatAttachment } from "@parley/client";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { formatBytes } from "../media/file-policy.js";
import { formatDuration, validPeaks } from "../media/waveform.js";
import { transfers } from "../state/model.js";
import { cancelTransfer, downloadAttachment } from "../state/session.js";
import { percent } from "./attach.js";
import { Dialog } from "./dialog.js";
import { formatFull } from "./format.js";
import { X } from "./icons.js";

type AttachmentKind = "file" | "photo" | "voice";

/** Photos shown as images: the types every browser draws. */
const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/webp", "image/gif"]);

/** How an attachment is shown: a photo, a voice note (audio with a waveform), or a card. */
export function kindOf(a: ChatAttachment): AttachmentKind {
  const mime = a.type.split(";")[0]!.trim().toLowerCase();
  if (IMAGE_TYPES.has(mime)) return "photo";
  // A voice note carries its duration (and a waveform, which an opened view-once note loses).
  if (mime.startsWith("audio/") && a.durationMs !== undefined) return "voice";
  return "file";
}

/**
 * A file in a message: a photo (its thumbnail at once, the full image in a lightbox on open), a
 * voice note (player with a waveform scrubber) or a card (name, type, size, Download). Nothing
 * is downloaded until asked for; a view-once photo or voice note shows no preview and is
 * removed on every device once opened.
 */
export function Attachment({ messageKey, file }: { messageKey: string; file: ChatAttachment }) {
  const [error, setError] = useState<string | undefined>();
  const transfer = transfers.value[messageKey];
  // Fixed at first sight: opening a view-once file strips what it showed, not what it is.
  const [kind] = useState(() => kindOf(file));
  const running = transfer?.state === "running";
  const expired = file.expiresAt !== undefined && file.expiresAt <= Date.now();
  const fetchIt = async (): Promise<Blob | undefined> => {
    setError(undefined);
    try {
      return await downloadAttachment(messageKey);
    } catch (e) {
      setError(e instanceof Error ? e.message : "The download failed.");
      return undefined;
    }
  };
  // A view-once file is opened by its download (the model then removes it everywhere); this
  // device shows it until the lightbox closes or the voice note ends, then only says it was opened.
  const [holding, setHolding] = useState(false);
  const gone = file.viewOnce === true && file.opened === true && !holding;
  const body = gone ? (
    <p class="once-gone muted" data-testid="once-opened">
      {kind === "voice" ? "Voice note" : "Photo"} · view once · opened
    </p>
  ) : kind === "photo" ? (
    <Photo file={file} expired={expired} fetchIt={fetchIt} hold={setHolding} />
  ) : kind === "voice" ? (
    <Voice file={file} expired={expired} fetchIt={fetchIt} hold={setHolding} />
  ) : (
    <FileCard file={file} expired={expired} fetchIt={fetchIt} />
  );
  const verb = transfer?.direction === "upload" ? "Uploading" : "Downloading";
  return (
    <div class={`attachment attachment-${kind}`} data-testid="attachment" data-kind={kind}>
      {body}
      {running && (
        <div class="transfer">
          <progress aria-label={`${verb} ${file.name}`} max={transfer.total} value={transfer.done} />
          <span class="small-text muted">{percent(transfer.done, transfer.total)}</span>
          <button
            type="button"
            class="small"
            aria-label={`Cancel ${transfer.direction} of ${file.name}`}
            onClick={() => cancelTransfer(messageKey)}
          >
            Cancel
          </button>
        </div>
      )}
      {transfer?.state === "cancelled" && (
        <p class="small-text muted" data-testid="transfer-cancelled">
          {transfer.direction === "upload" ? "Upload cancelled: not sent." : "Download cancelled."}
        </p>
      )}
      {expired && !gone && (
        <p class="small-text muted" data-testid="file-expired">
          This file has expired: the server no longer keeps it.
        </p>
      )}
      {error !== undefined && (
        <p role="alert" class="small-text attach-error">
          {error}
        </p>
      )}
    </div>
  );
}

interface PartProps {
  file: ChatAttachment;
  expired: boolean;
  fetchIt: () => Promise<Blob | undefined>;
}

/** Photos and voice notes: keep showing a view-once file while it is in use (true), then let it go. */
interface HoldProps {
  hold: (holding: boolean) => void;
}

function FileCard({ file, expired, fetchIt }: PartProps) {
  const save = async () => {
    const blob = await fetchIt();
    if (blob === undefined) return;
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = file.name;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  };
  return (
    <div class="file-card">
      <FileGlyph mime={essence(file.type)} />
      <span class="file-facts">
        <span class="file-name" data-testid="file-name">
          {file.name}
        </span>
        <span
          class="small-text muted"
          data-testid="file-meta"
          title={
            file.expiresAt === undefined ? undefined : `On the server until ${formatFull(file.expiresAt)}`
          }
        >
          {describeType(essence(file.type))} · {formatBytes(file.size)}
        </span>
      </span>
      <button
        type="button"
        class="small"
        disabled={expired}
        aria-label={`Download ${file.name}`}
        onClick={save}
      >
        Download
      </button>
    </div>
  );
}

function Photo({ file, expired, fetchIt, hold }: PartProps & HoldProps) {
  const [full, setFull] = useState<string | undefined>();
  const once = file.viewOnce === true;
  const thumb = useBlobUrl(once ? undefined : file.thumbnail, file.thumbnailType ?? "image/jpeg");
  useEffect(() => () => (full === undefined ? undefined : URL.revokeObjectURL(full)), [full]);
  const open = async () => {
    hold(true);
    const blob = await fetchIt();
    if (blob !== undefined) setFull(URL.createObjectURL(blob));
    else hold(false);
  };
  const close = () => {
    setFull(undefined);
    hold(false);
  };
  const label = once ? "Open view-once photo" : `Open photo ${file.name}`;
  return (
    <>
      <button
        type="button"
        class={`photo-button${once ? " once" : ""}`}
        aria-label={label}
        disabled={expired}
        onClick={() => void open()}
      >
        {thumb !== undefined ? (
          <img
            src={thumb}
            alt=""
            width={file.width !== undefined ? Math.min(240, file.width) : undefined}
            data-testid="thumbnail"
          />
        ) : (
          <span class="once-label">{once ? "Photo · view once · tap to open" : file.name}</span>
        )}
      </button>
      {full !== undefined && (
        <Dialog title={once ? "View-once photo" : file.name} onClose={close} wide>
          <figure class="lightbox">
            <img src={full} alt={file.name} data-testid="full-image" />
            <figcaption class="small-text muted">
              {file.width !== undefined && file.height !== undefined
                ? `${file.width} × ${file.height} · `
                : ""}
              {formatBytes(file.size)}
              {once ? " · removed from every device when you close it" : ""}
            </figcaption>
          </figure>
          <div class="dialog-actions">
            {!once && (
              <a class="button" href={full} download={file.name}>
                Save
              </a>
            )}
            <button type="button" onClick={close}>
              <X />
              Close
            </button>
          </div>
        </Dialog>
      )}
    </>
  );
}

function Voice({ file, expired, fetchIt, hold }: PartProps & HoldProps) {
  const audio = useRef<HTMLAudioElement>(null);
  const [src, setSrc] = useState<string | undefined>();
  const [playing, setPlaying] = useState(false);
  const [at, setAt] = useState(0);
  const duration = file.durationMs ?? 0;
  // Kept from the first render: an opened view-once note loses its waveform while it plays.
  const [peaks] = useState(() => validPeaks(file.waveform) ?? []);
  useEffect(() => () => (src === undefined ? undefined : URL.revokeObjectURL(src)), [src]);
  const play = async () => {
    let url = src;
    if (url === undefined) {
      hold(true);
      const blob = await fetchIt();
      if (blob === undefined) {
        hold(false);
        return;
      }
      url = URL.createObjectURL(blob);
      setSrc(url);
    }
    const el = audio.current;
    if (el === null) return;
    if (el.src !== url) el.src = url;
    await el.play().catch(() => undefined);
  };
  const seek = (fraction: number) => {
    const el = audio.current;
    const ms = Math.max(0, Math.min(1, fraction)) * duration;
    setAt(ms);
    if (el !== null && src !== undefined) el.currentTime = ms / 1000;
  };
  const fraction = duration > 0 ? Math.min(1, at / duration) : 0;
  return (
    <div class="voice">
      <button
        type="button"
        class="icon"
        aria-label={
          playing ? "Pause voice note" : file.viewOnce ? "Play view-once voice note" : "Play voice note"
        }
        disabled={expired}
        onClick={() => {
          if (playing) audio.current?.pause();
          else void play();
        }}
      >
        <span aria-hidden="true">{playing ? "❚❚" : "▶"}</span>
      </button>
      <div
        class="waveform"
        role="slider"
        tabIndex={0}
        aria-label="Voice note position"
        aria-valuemin={0}
        aria-valuemax={Math.round(duration / 1000)}
        aria-valuenow={Math.round(at / 1000)}
        aria-valuetext={`${formatDuration(at)} of ${formatDuration(duration)}`}
        data-testid="waveform"
        data-peaks={peaks.length}
        onClick={(e) => {
          const box = e.currentTarget.getBoundingClientRect();
          seek((e.clientX - box.left) / box.width);
        }}
        onKeyDown={(e) => {
          const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
          if (step === 0) return;
          e.preventDefault();
          seek((at + step * 1000) / Math.max(1, duration));
        }}
      >
        <svg
          viewBox={`0 0 ${Math.max(1, peaks.length) * 3} 32`}
          preserveAspectRatio="none"
          aria-hidden="true"
        >
          {peaks.map((p, i) => {
            const h = Math.max(2, Math.round((p / 255) * 30));
            return (
              <rect
                key={i}
                x={i * 3}
                y={16 - h / 2}
                width={2}
                height={h}
                class={(i + 0.5) / peaks.length <= fraction ? "played" : undefined}
              />
            );
          })}
        </svg>
      </div>
      <span class="small-text muted" data-testid="voice-time">
        {playing || at > 0 ? `${formatDuration(at)} / ` : ""}
        {formatDuration(duration)}
      </span>
      {/* biome-ignore lint/a11y/useMediaCaption: a voice note has no captions to offer */}
      <audio
        ref={audio}
        preload="none"
        data-testid="voice-audio"
        onPlay={() => setPlaying(true)}
        onPause={() => setPlaying(false)}
        onTimeUpdate={(e) => setAt(e.currentTarget.currentTime * 1000)}
        onEnded={() => {
          setPlaying(false);
          setAt(0);
          if (file.viewOnce) hold(false);
        }}
      />
    </div>
  );
}

/** An object URL for base64 bytes carried in the message (a thumbnail), revoked when unused. */
function useBlobUrl(base64: string | undefined, type: string): string | undefined {
  const url = useMemo(() => {
    if (base64 === undefined) return undefined;
    try {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      return URL.createObjectURL(new Blob([bytes], { type: IMAGE_TYPES.has(type) ? type : "image/jpeg" }));
    } catch {
      return undefined;
    }
  }, [base64, type]);
  useEffect(() => () => (url === undefined ? undefined : URL.revokeObjectURL(url)), [url]);
  return url;
}

function essence(type: string): string {
  return type.split(";")[0]!.trim().toLowerCase();
}

/** A short label on the file glyph: PDF, TXT, ZIP, or the subtype. */
function badgeOf(mime: string): string {
  if (mime === "application/pdf") return "PDF";
  if (mime.startsWith("text/")) return "TXT";
  if (mime === "application/zip") return "ZIP";
  return (mime.split("/")[1] ?? "FILE").replace(/^x-/, "").slice(0, 4).toUpperCase();
}

/** A page with its type on it, in SVG: shows on systems without an emoji font. */
function FileGlyph({ mime }: { mime: string }) {
  return (
    <svg class="file-icon" viewBox="0 0 28 34" aria-hidden="true" focusable="false">
      <path d="M2 1h17l7 7v25H2z" fill="none" stroke="currentColor" stroke-width="1.5" />
      <path d="M19 1v7h7" fill="none" stroke="currentColor" stroke-width="1.5" />
      <text x="14" y="26" text-anchor="middle" font-size="7" font-weight="700" fill="currentColor">
        {badgeOf(mime)}
      </text>
    </svg>
  );
}

/** "PDF document", "Text", or the MIME type itself. */
export function describeType(mime: string): string {
  const known: Record<string, string> = {
    "application/pdf": "PDF document",
    "text/plain": "Text",
    "text/markdown": "Markdown",
    "text/csv": "CSV table",
    "application/zip": "Zip archive",
  };
  return known[mime] ?? mime;
}
