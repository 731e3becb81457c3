import { type HistogramData, LatencyHistogram } from "../measure/histogram.js";
import type { BenchClient, ClientSink } from "./clients/index.js";
import { nowMs, PayloadFactory, readHeader } from "./payload.js";

/**
 * Message traffic inside one generator process: who sends next, what is still in flight, and
 * what each delivery measured. A room lives entirely in one process, so the sender's clock
 * stamps the payload and the receivers' clock reads it: same clock, no skew.
 *
 * Two ways to offer load:
 * - closed loop: each room keeps `window` messages in flight; a message leaves the window when
 *   every other member has it. The offered rate follows what the server (and the generator)
 *   can carry, so nothing queues without bound: the "max rate" figure.
 * - open loop: `ratePerS` messages per second whatever happens, stamped with their scheduled
 *   time so that a stalled server shows up in the latency (no coordinated omission).
 */

export type LoadMode = { kind: "closed"; window: number } | { kind: "open"; ratePerS: number };

export interface PhaseStats {
  name: string;
  durationMs: number;
  sent: number;
  deliveries: number;
  latency: HistogramData;
}

export interface TrafficReport {
  phases: PhaseStats[];
  sent: number;
  acks: number;
  deliveries: number;
  /** Expected deliveries still missing after the drain. */
  undelivered: number;
  /** Deliveries of a message that was already complete, or of one never sent. */
  unexpected: number;
  /** Error frames by code. */
  errors: Record<string, number>;
  /** Connections that closed without being asked to. */
  lost: number;
}

interface Room {
  readonly index: number;
  readonly key: string;
  readonly members: readonly BenchClient[];
  nextSeq: number;
  nextSender: number;
  /** seq -> deliveries still expected. */
  readonly pending: Map<number, number>;
}

class Phase {
  readonly startedAt = performance.now();
  endedAt: number | null = null;
  sent = 0;
  deliveries = 0;
  readonly latency = new LatencyHistogram();
  constructor(readonly name: string) {}
}

/** Ticks of the open-loop pacer; short enough that sends spread evenly over a second. */
const PACER_TICK_MS = 1;

/** The time and the ticks the traffic runs on: the real ones, or a test's own. */
export interface TrafficClock {
  /** Now, in ms, on the clock the payload stamps use. */
  now(): number;
  /** Calls `fn` every `ms` until the returned function is called. */
  every(fn: () => void, ms: number): () => void;
}

const REAL_CLOCK: TrafficClock = {
  now: nowMs,
  every(fn, ms) {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
};

export class Traffic implements ClientSink {
  readonly #rooms: Room[] = [];
  readonly #payloads: PayloadFactory;
  readonly #phases: Phase[] = [new Phase("setup")];
  #mode: LoadMode | null = null;
  #sending = false;
  #stopPacer: (() => void) | null = null;
  #deadline: NodeJS.Timeout | null = null;
  /** Messages this start() may still send: every loop here is bounded in count, too. */
  #budget = 0;
  #sent = 0;
  #acks = 0;
  #deliveries = 0;
  #unexpected = 0;
  #lost = 0;
  readonly #errors = new Map<string, number>();

  readonly #clock: TrafficClock;

  constructor(payloadBytes: number, clock: TrafficClock = REAL_CLOCK) {
    this.#payloads = new PayloadFactory(payloadBytes);
    this.#clock = clock;
  }

  addRoom(key: string, members: readonly BenchClient[]): void {
    if (members.length < 2) throw new RangeError("a room needs at least two members");
    this.#rooms.push({
      index: this.#rooms.length,
      key,
      members,
      nextSeq: 0,
      nextSender: 0,
      pending: new Map(),
    });
  }

  /** Starts offering load; stops by itself after `maxMs` or `maxMessages`, whichever is first. */
  start(mode: LoadMode, maxMs: number, maxMessages: number): void {
    if (this.#sending) throw new Error("traffic already started");
    if (this.#rooms.length === 0) return;
    this.#mode = mode;
    this.#sending = true;
    this.#budget = maxMessages;
    this.#deadline = setTimeout(() => this.stop(), maxMs);
    if (mode.kind === "closed") {
      for (let i = 0; i < mode.window; i++) {
        for (const room of this.#rooms) if (this.#budget-- > 0) this.#sendFrom(room, this.#clock.now());
      }
      return;
    }
    const t0 = this.#clock.now();
    const perMs = mode.ratePerS / 1000;
    let issued = 0;
    let rr = 0;
    const tick = () => {
      // Message i is due at t0 + i / rate: by `elapsed`, floor(elapsed * rate) + 1 are due.
      const due = Math.min(Math.floor((this.#clock.now() - t0) * perMs) + 1 - issued, this.#budget);
      for (let i = 0; i < due; i++) {
        const room = this.#rooms[rr++ % this.#rooms.length] as Room;
        // The scheduled time, not the actual one: lateness of the generator counts as latency.
        this.#sendFrom(room, t0 + issued / perMs);
        issued++;
        this.#budget--;
      }
      if (this.#budget <= 0) this.stop();
    };
    this.#stopPacer = this.#clock.every(tick, PACER_TICK_MS);
  }

  stop(): void {
    this.#sending = false;
    if (this.#stopPacer) this.#stopPacer();
    if (this.#deadline) clearTimeout(this.#deadline);
    this.#stopPacer = null;
    this.#deadline = null;
  }

  /** Ends the current phase and starts `name`; deliveries count toward the phase they arrive in. */
  phase(name: string): void {
    const now = performance.now();
    const current = this.#phases.at(-1);
    if (current) current.endedAt = now;
    this.#phases.push(new Phase(name));
  }

  /** Waits (bounded) until every message sent has reached every other member of its room. */
  async drain(timeoutMs: number): Promise<void> {
    const until = performance.now() + timeoutMs;
    while (this.#inFlight() > 0 && performance.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  report(): TrafficReport {
    const now = performance.now();
    let undelivered = 0;
    for (const room of this.#rooms) for (const n of room.pending.values()) undelivered += n;
    return {
      phases: this.#phases.map((p) => ({
        name: p.name,
        durationMs: (p.endedAt ?? now) - p.startedAt,
        sent: p.sent,
        deliveries: p.deliveries,
        latency: p.latency.toData(),
      })),
      sent: this.#sent,
      acks: this.#acks,
      deliveries: this.#deliveries,
      undelivered,
      unexpected: this.#unexpected,
      errors: Object.fromEntries(this.#errors),
      lost: this.#lost,
    };
  }

  #inFlight(): number {
    let n = 0;
    for (const room of this.#rooms) n += room.pending.size;
    return n;
  }

  #sendFrom(room: Room, sentAtMs: number): void {
    const sender = room.members[room.nextSender] as BenchClient;
    room.nextSender = (room.nextSender + 1) % room.members.length;
    const seq = room.nextSeq++;
    room.pending.set(seq, room.members.length - 1);
    sender.send(room.key, this.#payloads.make({ sentAtMs, room: room.index, seq }));
    this.#sent++;
    (this.#phases.at(-1) as Phase).sent++;
  }

  // ---------------------------------------------------------------- ClientSink

  delivery(header: string): void {
    const now = this.#clock.now();
    const h = readHeader(header);
    const room = h ? this.#rooms[h.room] : undefined;
    const left = h && room ? room.pending.get(h.seq) : undefined;
    if (!h || !room || left === undefined) {
      this.#unexpected++;
      return;
    }
    this.#deliveries++;
    const phase = this.#phases.at(-1) as Phase;
    phase.deliveries++;
    phase.latency.record((now - h.sentAtMs) * 1000);
    if (left > 1) {
      room.pending.set(h.seq, left - 1);
      return;
    }
    room.pending.delete(h.seq);
    const mode = this.#mode;
    if (this.#sending && mode?.kind === "closed" && room.pending.size < mode.window) {
      if (this.#budget-- > 0) this.#sendFrom(room, now);
      else this.stop();
    }
  }

  ack(): void {
    this.#acks++;
  }

  error(code: string): void {
    this.#errors.set(code, (this.#errors.get(code) ?? 0) + 1);
  }

  lost(_reason: string): void {
    this.#lost++;
  }
}
