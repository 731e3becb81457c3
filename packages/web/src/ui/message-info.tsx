import { keepsNoMessages, waitingNote } from "@parley/client";
import { chat, serverInfo } from "../state/model.js";
import { messageInfo } from "../state/session.js";
import { Dialog } from "./dialog.js";
import { X } from "./icons.js";

/**
 * RCPT-2: who has one of this user's messages, device by device ("delivered to 1 of 2
 * devices", "bob (device 3f9a2c): waiting"), who read it, and what it means when the server
 * keeps no messages. It follows receipts as they come.
 */
export function MessageInfoDialog({ messageKey, onClose }: { messageKey: string; onClose: () => void }) {
  // Read so that the dialog renders again with every new snapshot (a receipt came).
  void chat.value;
  const info = messageInfo(messageKey);
  const note = info === undefined ? undefined : waitingNote(info, keepsNoMessages(serverInfo.value));
  return (
    <Dialog title="Message info" onClose={onClose}>
      {info === undefined ? (
        <p>Nothing is known about this message yet.</p>
      ) : (
        <>
          <p data-testid="delivery-summary">
            {info.status === "sending"
              ? "Sending…"
              : info.status === "failed"
                ? "Not sent."
                : `Delivered to ${info.delivered} of ${info.of} devices.`}
          </p>
          {info.devices.length > 0 && (
            <ul class="delivery-devices" aria-label="Devices">
              {info.devices.map((d) => (
                <li key={`${d.userId} ${d.deviceId}`} data-received={d.received ? "yes" : "no"}>
                  {d.username} ({d.label}): {d.received ? "has it" : "waiting"}
                </li>
              ))}
            </ul>
          )}
          {info.readBy.length > 0 && <p>Read by {info.readBy.map((p) => p.username).join(", ")}.</p>}
          {note !== undefined && (
            <p class="muted" data-testid="delivery-note">
              {note}
            </p>
          )}
        </>
      )}
      <div class="dialog-actions">
        <button type="button" onClick={onClose}>
          <X />
          Close
        </button>
      </div>
    </Dialog>
  );
}
