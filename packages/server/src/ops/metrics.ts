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
  readonly authFailures: Counter<"kind">;
  readonly blocks: Counter;
  readonly connections: Gauge;

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
  }
}
