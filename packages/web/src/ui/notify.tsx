import { NOTIFY_LEVELS, type NotifyLevel, notifyLevelIn } from "@parley/client";
import { chat } from "../state/model.js";
import { askNotificationPermission, notifyPermission } from "../state/notifications.js";
import { setNotifyLevel, setPreviews } from "../state/session.js";

const LABELS: Record<NotifyLevel, string> = { all: "All messages", mentions: "Mentions only", off: "Muted" };

/** Issue 18.5: a conversation's notification level on this device. */
export function NotifySelect({ roomId }: { roomId: string }) {
  const level = notifyLevelIn(chat.value, roomId);
  return (
    <label class="disappearing" title="When this device notifies you about this conversation">
      <span class="small-text">Notify</span>
      <select
        aria-label="Notifications"
        value={level}
        onChange={(e) => setNotifyLevel(roomId, e.currentTarget.value as NotifyLevel)}
      >
        {NOTIFY_LEVELS.map((l) => (
          <option key={l} value={l}>
            {LABELS[l]}
          </option>
        ))}
      </select>
    </label>
  );
}

/** Settings: the browser's permission, asked only from this button or a first message, and previews. */
export function NotificationSettings() {
  const permission = notifyPermission.value;
  return (
    <>
      <p class="small-text" data-testid="notify-permission">
        Notifications:{" "}
        {permission === "granted"
          ? "on"
          : permission === "denied"
            ? "blocked in this browser's site settings"
            : permission === "unsupported"
              ? "not available in this browser"
              : "not allowed yet"}
      </p>
      {permission === "default" && (
        <button type="button" onClick={() => void askNotificationPermission()}>
          Allow notifications
        </button>
      )}
      <label class="check">
        <input
          type="checkbox"
          checked={chat.value.previews}
          onChange={(e) => setPreviews(e.currentTarget.checked)}
        />
        Show message text in notifications
      </label>
      <p class="muted small-text">
        Off: a notification says who wrote and where, not what. The text would leave the encrypted app for
        your system's notification centre, which may keep it or show it on a locked screen.
      </p>
    </>
  );
}
