import { useEffect, useMemo, useRef } from "preact/hooks";
import { checkFile, type FilePolicy, formatBytes, formatKeep } from "../media/file-policy.js";
import { formatDuration } from "../media/waveform.js";
import type { StagedFile } from "../state/files.js";
import { Paperclip, X } from "./icons.js";

/** Photo types the composer treats as photos (previews, view once, details stripped). */
const PHOTO_TYPES = new Set(["image/jpeg", "image/png", "image/webp", "image/gif"]);

/**
 * Checks picked, dropped or pasted files against the server's policy, before any upload: the
 * ones that pass become staged files, the others one message each.
 */
export function stageFiles(
  files: Iterable<File>,
  policy: FilePolicy,
  nextId: () => string,
): { staged: StagedFile[]; refused: string[] } {
  const staged: StagedFile[] = [];
  const refused: string[] = [];
  for (const file of files) {
    const check = checkFile(file, policy);
    if (!check.ok) {
      refused.push(check.message);
      continue;
    }
    staged.push({
      id: nextId(),
      file,
      name: file.name || "pasted",
      mime: check.mime,
      kind: PHOTO_TYPES.has(check.mime) ? "photo" : "file",
      keepDetails: false,
      viewOnce: false,
    });
  }
  return { staged, refused };
}

/** The paper-clip button and its hidden file input. */
export function AttachButton({ disabled, onFiles }: { disabled: boolean; onFiles: (files: File[]) => void }) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <button
        type="button"
        class="icon"
        aria-label="Attach files"
        title="Attach files"
        disabled={disabled}
        onClick={() => input.current?.click()}
      >
        <Paperclip />
      </button>
      <input
        ref={input}
        type="file"
        multiple
        hidden
        aria-label="Choose files to attach"
        onChange={(e) => {
          const files = [...(e.currentTarget.files ?? [])];
          e.currentTarget.value = "";
          if (files.length > 0) onFiles(files);
        }}
      />
    </>
  );
}

/** The files waiting for Send, each with its choices. */
export function StagedList({
  items,
  keepSeconds,
  onChange,
}: {
  items: readonly StagedFile[];
  /** How long the server keeps a file (/api/info files.ttlSeconds): said before sending. */
  keepSeconds: number;
  onChange: (next: StagedFile[]) => void;
}) {
  if (items.length === 0) return null;
  const update = (id: string, patch: Partial<StagedFile>) =>
    onChange(items.map((s) => (s.id === id ? { ...s, ...patch } : s)));
  return (
    <>
      <ul class="staged" aria-label="Attachments to send">
        {items.map((s) => (
          <li key={s.id} class="staged-item" data-testid="staged">
            {s.kind === "photo" && <StagedPreview blob={s.file} />}
            <span class="staged-name">
              {s.kind === "voice" && s.voice !== undefined
                ? `Voice note, ${formatDuration(s.voice.durationMs)}`
                : s.name}
              <span class="muted small-text"> {formatBytes(s.file.size)}</span>
            </span>
            {s.kind === "photo" && (
              <label
                class="check small-text"
                title="Send the photo as it is, with its EXIF data (camera, time, location)"
              >
                <input
                  type="checkbox"
                  checked={s.keepDetails}
                  onChange={(e) => update(s.id, { keepDetails: e.currentTarget.checked })}
                />{" "}
                Keep location and camera details
              </label>
            )}
            {s.kind !== "file" && (
              <label class="check small-text" title="Removed from every device once opened">
                <input
                  type="checkbox"
                  checked={s.viewOnce}
                  onChange={(e) => update(s.id, { viewOnce: e.currentTarget.checked })}
                />{" "}
                View once
              </label>
            )}
            <button
              type="button"
              class="small"
              aria-label={`Remove ${s.kind === "voice" ? "voice note" : s.name}`}
              onClick={() => onChange(items.filter((x) => x.id !== s.id))}
            >
              <X />
              Remove
            </button>
          </li>
        ))}
      </ul>
      <p class="small-text muted" data-testid="file-retention">
        Encrypted on this device; the server keeps the ciphertext for {formatKeep(keepSeconds)}.
      </p>
    </>
  );
}

function StagedPreview({ blob }: { blob: Blob }) {
  const url = useMemo(() => URL.createObjectURL(blob), [blob]);
  useEffect(() => () => URL.revokeObjectURL(url), [url]);
  return <img class="staged-thumb" src={url} alt="" />;
}

/** "42%" of a transfer. */
export function percent(done: number, total: number): string {
  return total > 0 ? `${Math.floor((done / total) * 100)}%` : "";
}
