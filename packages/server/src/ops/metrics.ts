import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";

/**
 * Prometheus metrics for /metrics. Hot-path counts (frames, deliveries) are plain numbers read
 * at scrape time, so the relay pays an addition per delivery rather than a metric call.
 */
export class Metrics {
  readonly registry = new Registry();
  framesIn = 0;
  framesOut = 0;
  deliveries = 0;
  /** `message.send` frames relayed (one per message, whatever the recipients). */
  messages = 0;
  /** Refused sign-ins at POST /api/login (a subset of parley_auth_failures_total). */
  loginFailures = 0;
  readonly authFailures: Counter<"kind">;
  readonly blocks: Counter;
  readonly connections: Gauge;
  /** RELAY-5..7, the opt-in offline queue; all stay 0 while it is off. */
  readonly queueWritten: Counter;
  readonly queueSent: Counter;
  readonly queueDropped: Counter;
  readonly queueExpired: Counter;
  /** Issue 15: the work requests cost that is charged to the account, and what was refused. */
  readonly keyPackagesVerified: Counter;
  readonly connectionsRefused: Counter<"reason">;
  /** Messages from Redis the cluster bus could not read (RedisBus.dropped); absent on one server. */
  busDrops: Readonly<Record<string, number>> | undefined;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "parley_", eventLoopMonitoringPrecision: 20 });
    const self = this;
    new Counter({
      name: "parley_ws_frames_in_total",
      help: "WebSocket frames received",
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(self.framesIn);
      },
    });
    new Counter({
      name: "parley_ws_frames_out_total",
      help: "WebSocket frames sent (one per recipient device)",
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(self.framesOut);
      },
    });
    new Counter({
      name: "parley_deliveries_total",
      help: "Frames the relay delivered to devices (messages, presence, typing, room events)",
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(self.deliveries);
      },
    });
    new Counter({
      name: "parley_messages_total",
      help: "Messages relayed (message.send frames accepted, one per message)",
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(self.messages);
      },
    });
    new Counter({
      name: "parley_login_failures_total",
      help: "Refused sign-ins at POST /api/login",
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(self.loginFailures);
      },
    });
    this.authFailures = new Counter({
      name: "parley_auth_failures_total",
      help: "Failed logins and refused tokens",
      labelNames: ["kind"],
      registers: [this.registry],
    });
    this.blocks = new Counter({
      name: "parley_ip_blocks_total",
      help: "IPs blocked by the IDS",
      registers: [this.registry],
    });
    this.connections = new Gauge({
      name: "parley_ws_connections",
      help: "Open WebSocket connections",
      registers: [this.registry],
    });
    this.queueWritten = new Counter({
      name: "parley_offline_queue_written_total",
      help: "Offline-queue entries written (one per offline device a message was kept for)",
      registers: [this.registry],
    });
    this.queueSent = new Counter({
      name: "parley_offline_queue_sent_total",
      help: "Offline-queue entries sent to devices (again after a lost acknowledgement)",
      registers: [this.registry],
    });
    this.queueDropped = new Counter({
      name: "parley_offline_queue_dropped_total",
      help: "Offline-queue entries the per-device cap dropped, counted when the device is told",
      registers: [this.registry],
    });
    this.queueExpired = new Counter({
      name: "parley_offline_queue_expired_total",
      help: "Offline-queue entries the periodic sweep deleted because they expired unread",
      registers: [this.registry],
    });
    this.keyPackagesVerified = new Counter({
      name: "parley_key_packages_verified_total",
      help: "KeyPackage signatures checked (each one charged to the uploading account's budget)",
      registers: [this.registry],
    });
    new Counter({
      name: "parley_bus_messages_dropped_total",
      help: "Messages from Redis the cluster bus dropped unread: malformed envelope or control event, or a newer bus protocol",
      labelNames: ["what"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [what, n] of Object.entries(self.busDrops ?? {})) this.inc({ what }, n);
      },
    });
    this.connectionsRefused = new Counter({
      name: "parley_connections_refused_total",
      help: "TCP connections closed at once because a connection cap was reached",
      labelNames: ["reason"],
      registers: [this.registry],
    });
  }
}
