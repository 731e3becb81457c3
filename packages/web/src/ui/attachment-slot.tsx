import type { ChatAttachment } from "@parley/client";
import { useEffect, useState } from "preact/hooks";

type AttachmentModule = typeof import("./attachment.js");

let loaded: AttachmentModule | undefined;
let loading: Promise<AttachmentModule> | undefined;

/**
 * Where a message's file shows. The photo viewer, voice player and file card are loaded with the
 * first message that has a file, not with the first screen; until then the file's name stands in.
 */
export function AttachmentSlot(props: { messageKey: string; file: ChatAttachment }) {
  const [mod, setMod] = useState<AttachmentModule | undefined>(loaded);
  useEffect(() => {
    if (mod !== undefined) return;
    loading ??= import("./attachment.js").then((m) => {
      loaded = m;
      return m;
    });
    let live = true;
    loading.then(
      (m) => live && setMod(() => m),
      () => {
        loading = undefined;
      },
    );
    return () => {
      live = false;
    };
  }, [mod]);
  if (mod === undefined) {
    return (
      <p class="attachment muted small-text" data-testid="attachment-loading">
        {props.file.name}
      </p>
    );
  }
  return <mod.Attachment {...props} />;
}
