import type { ChatMessage, ChatModel } from "@parley/client";
import { signal } from "@preact/signals";
import { getSetting, setSetting } from "../platform/idb-store.js";

/**
 * Issue 18.5, the page's side of notifications: the permission, system notifications (sender
 * and room; the text only with previews on), a short synthesised sound, and the unread badge in
 * the title and on the app icon. Whether a message alerts at all is the chat model's decision
 * (ChatModel.alerts: the conversation's level, mentions, is the page visible, is it open).
 */

export type NotifyPermission = NotificationPermission | "unsupported";

/** The browser's notification permission for this page, as last seen. */
export const notifyPermission = signal<NotifyPermission>(currentPermission());

const ASKED = "notifications-asked";

function currentPermission(): NotifyPermission {
  return typeof Notification === "undefined" ? "unsupported" : Notification.permission;
}

/**
 * Asks for the permission (only ever from a person's action: the Settings button or their first
 * message, never on load), and readies the sound while the page has that action's activation.
 */
export async function askNotificationPermission(): Promise<NotifyPermission> {
  unlockSound();
  if (typeof Notification === "undefined") return "unsupported";
  if (Notification.permission === "default") {
    await setSetting(ASKED, "yes").catch(() => undefined);
    await Notification.requestPermission();
  }
  notifyPermission.value = Notification.permission;
  return notifyPermission.value;
}

/**
 * The first message a person sends is the moment to ask: they are using the chat and will want
 * to hear the answer. Asked once per browser; after that, Settings has the button.
 */
export function askOnFirstSend(): void {
  unlockSound();
  if (typeof Notification === "undefined" || Notification.permission !== "default") return;
  void getSetting(ASKED).then((asked) => {
    if (asked === undefined) void askNotificationPermission();
  });
}

/** Called for every arriving message: notifies and sounds when the model says it alerts. */
export function alertArrival(
  model: ChatModel,
  m: ChatMessage,
  view: { open: boolean; roomName: string; onClick: () => void },
): void {
  const visible = document.visibilityState === "visible";
  if (!model.alerts(m, { visible, open: view.open })) return;
  playSound();
  if (typeof Notification === "undefined" || Notification.permission !== "granted") return;
  const direct = model.room(m.roomId)?.kind === "direct";
  const mentioned = model.snapshot.me !== undefined && m.mentions?.includes(model.snapshot.me.id) === true;
  const title = direct ? m.fromName : `${m.fromName} in ${view.roomName}`;
  const body = model.snapshot.previews
    ? m.attachment !== undefined
      ? "sent a file"
      : m.text
    : mentioned
      ? "mentioned you"
      : "new message";
  try {
    const n = new Notification(title, { body, tag: m.roomId, data: { roomId: m.roomId } });
    n.onclick = () => {
      window.focus();
      view.onClick();
      n.close();
    };
  } catch {
    // Android's Chrome allows notifications only from a service worker: the sound and the
    // badges still tell.
  }
}

/** The unread count in the page title and on the installed app's icon (Badging API). */
export function showBadge(count: number): void {
  document.title = count > 0 ? `(${count}) Parley` : "Parley";
  const nav = navigator as Navigator & {
    setAppBadge?: (n?: number) => Promise<void>;
    clearAppBadge?: () => Promise<void>;
  };
  const done = count > 0 ? nav.setAppBadge?.(count) : nav.clearAppBadge?.();
  // Refused where the page is not an installed app: the title still shows the count.
  done?.catch(() => undefined);
}

let audio: AudioContext | undefined;

/** An AudioContext may only start from a person's action; once running it plays in the background too. */
function unlockSound(): void {
  if (typeof AudioContext === "undefined") return;
  audio ??= new AudioContext();
  if (audio.state === "suspended") void audio.resume().catch(() => undefined);
}

/** Two short soft tones, synthesised here: no sound file, nothing fetched. */
function playSound(): void {
  if (audio === undefined || audio.state !== "running") return;
  const start = audio.currentTime;
  for (const [i, freq] of [880, 1320].entries()) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    const t = start + i * 0.09;
    osc.type = "sine";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.12, t + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.08);
    osc.connect(gain).connect(audio.destination);
    osc.start(t);
    osc.stop(t + 0.09);
  }
}

addEventListener("pointerdown", unlockSound, { once: true });
addEventListener("keydown", unlockSound, { once: true });
