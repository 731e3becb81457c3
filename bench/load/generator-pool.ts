import { fileURLToPath } from "node:url";
import { type Child, spawnChild, TS_NODE_ARGS } from "../system/child.js";
import type { GeneratorCommand, Reply, Request, Results } from "./ipc.js";

const MAIN = fileURLToPath(new URL("./generator-main.ts", import.meta.url));

/** How long a generator may take to answer one command before the run gives up on it. */
const COMMAND_TIMEOUT_MS = 180_000;

export interface GeneratorPoolOptions {
  processes: number;
  /** Prefix that pins a process to the generator cores, [] for none. */
  pin: readonly string[];
  openFiles: number;
}

/**
 * The orchestrator's side of the load generator: N child processes (started once per run and
 * reused by every scenario), each spoken to with one request and one reply at a time.
 */
export class GeneratorPool {
  readonly #children: Child[];
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 0;

  private constructor(children: Child[]) {
    this.#children = children;
    for (const child of children) {
      child.process.on("message", (msg: Reply) => {
        const waiter = this.#pending.get(msg.id);
        if (!waiter) return;
        this.#pending.delete(msg.id);
        if (msg.ok) waiter.resolve(msg.result);
        else waiter.reject(new Error(`${child.label}: ${msg.error}`));
      });
    }
  }

  static async start(o: GeneratorPoolOptions): Promise<GeneratorPool> {
    const children = Array.from({ length: o.processes }, (_, i) =>
      spawnChild({
        argv: [process.execPath, ...TS_NODE_ARGS, MAIN],
        pin: o.pin,
        env: {},
        openFiles: o.openFiles,
        ipc: true,
        label: `generator ${i}`,
      }),
    );
    await Promise.all(children.map(ready));
    return new GeneratorPool(children);
  }

  get size(): number {
    return this.#children.length;
  }

  get pids(): number[] {
    return this.#children.map((c) => c.pid);
  }

  call<C extends GeneratorCommand>(index: number, command: C): Promise<Results[C["op"]]> {
    const child = this.#children[index];
    if (!child) throw new RangeError(`no generator ${index}`);
    const id = ++this.#nextId;
    return new Promise<Results[C["op"]]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${child.label}: no answer to ${command.op} after ${COMMAND_TIMEOUT_MS} ms`));
      }, COMMAND_TIMEOUT_MS);
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as Results[C["op"]]);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      child.process.send({ id, command } satisfies Request);
    });
  }

  /** Sends the same command to every process and waits for all the answers. */
  all<C extends GeneratorCommand>(command: C): Promise<Results[C["op"]][]> {
    return Promise.all(this.#children.map((_, i) => this.call(i, command)));
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#children.map((_, i) => this.call(i, { op: "exit" })));
    await Promise.all(this.#children.map((c) => c.stop(5000)));
  }
}

function ready(child: Child): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${child.label} did not start\n${child.stderrTail()}`)),
      60_000,
    );
    child.process.once("message", () => {
      clearTimeout(timer);
      resolve();
    });
    void child.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${child.label} exited (${code})\n${child.stderrTail()}`));
    });
  });
}
