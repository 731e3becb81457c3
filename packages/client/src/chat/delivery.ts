/** The chat model's view of delivery (RCPT-2): ticks from the SDK's delivery events, forward only, and the per-device "message info". */
import { deviceKey } from "@parley/protocol";
import type { DeliveryEvent } from "../events.js";
import type { OutgoingStatus } from "./types.js";

/** How far a status is along sending -> sent -> delivered -> read; failed is off the line. */
const RANK: Record<OutgoingStatus, number> = { failed: -1, sending: 0, sent: 1, delivered: 2, read: 3 };

/**
 * The status a delivery event shows for a message the server accepted: delivered once every
 * device of the send-time group acknowledged it (never before), read once it is delivered and
 * someone else saw it.
 */
export function statusOf(event: DeliveryEvent | undefined): OutgoingStatus {
  if (event === undefined) return "sent";
  if (event.delivered.length < event.targets.length) return "sent";
  return event.readBy.length > 0 ? "read" : "delivered";
}

/** RCPT-2: a status never moves backwards (a late or repeated receipt changes nothing). */
export function forward(current: OutgoingStatus | undefined, next: OutgoingStatus): OutgoingStatus {
  if (current === undefined || current === "failed") return next;
  return RANK[next] > RANK[current] ? next : current;
}

/** One member device of an own message's send-time group. */
export interface DeviceDelivery {
  readonly userId: string;
  readonly username: string;
  readonly deviceId: string;
  /** A short label for people: the device id's first characters. */
  readonly label: string;
  readonly received: boolean;
}

/** RCPT-2: who has an own message and who does not yet, device by device. */
export interface DeliveryInfo {
  readonly status: OutgoingStatus;
  /** Devices that acknowledged it, of all the send-time group's other devices ("n of m"). */
  readonly delivered: number;
  readonly of: number;
  readonly devices: readonly DeviceDelivery[];
  /** Other users who saw it (empty when this user does not share read receipts). */
  readonly readBy: readonly { readonly id: string; readonly username: string }[];
  /** People for the devices still missing it: "bob (device 3f9a2c)". */
  readonly waiting: readonly string[];
}

export function deliveryInfo(
  status: OutgoingStatus,
  event: DeliveryEvent | undefined,
  nameOf: (userId: string) => string | undefined,
): DeliveryInfo {
  const targets = event?.targets ?? [];
  const got = new Set((event?.delivered ?? []).map((d) => deviceKey(d)));
  const devices = targets.map((d) => ({
    userId: d.userId,
    username: nameOf(d.userId) ?? d.userId,
    deviceId: d.deviceId,
    label: `device ${d.deviceId.slice(0, 6)}`,
    received: got.has(deviceKey(d)),
  }));
  return {
    status,
    delivered: devices.filter((d) => d.received).length,
    of: devices.length,
    devices,
    readBy: (event?.readBy ?? []).map((id) => ({ id, username: nameOf(id) ?? id })),
    waiting: devices.filter((d) => !d.received).map((d) => `${d.username} (${d.label})`),
  };
}

/**
 * What to tell the sender when the server keeps no messages (GET /api/info `storage.messages`
 * is "none") and some devices still lack an own message: it reaches them only from a device of
 * this conversation that holds it (RCPT-5, RCPT-6). Undefined when nothing is missing.
 */
export function waitingNote(info: DeliveryInfo, keepsNoMessages: boolean): string | undefined {
  if (!keepsNoMessages) return undefined;
  const names = [...new Set(info.devices.filter((d) => !d.received).map((d) => d.username))];
  if (names.length === 0) return undefined;
  const who = names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
  const verb = names.length === 1 ? "gets" : "get";
  return `This server keeps no messages; ${who} ${verb} this when they and one of you are online`;
}

/** Whether GET /api/info says the server keeps no messages (`storage.messages: "none"`). */
export function keepsNoMessages(info: unknown): boolean {
  const storage = (info as { storage?: { messages?: unknown } } | undefined)?.storage;
  return storage?.messages === "none";
}
