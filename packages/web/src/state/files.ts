import type { VoiceNote } from "../media/voice-recorder.js";

/**
 * What the composer holds before Send (issue 17): files checked against the server's limits,
 * with the sender's choices. Encryption, upload, download and their progress are the chat
 * model's (ChatSnapshot.transfers).
 */

export type AttachmentKind = "file" | "photo" | "voice";

/** A file in the composer, checked against the server's policy, not sent yet. */
export interface StagedFile {
  readonly id: string;
  readonly file: Blob;
  readonly name: string;
  readonly mime: string;
  readonly kind: AttachmentKind;
  /** Photos: send the original with its EXIF and location (off by default). */
  readonly keepDetails: boolean;
  /** Photos and voice notes: removed on every device once opened. */
  readonly viewOnce: boolean;
  readonly voice?: VoiceNote;
}

let counter = 0;
/** A page-local id for a staged file or a transfer. */
export function localId(): string {
  counter += 1;
  return `local-${counter}`;
}
