import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Two network namespaces joined by one veth pair, for tests that need a peer address other
 * than loopback. Both ends of the link live only inside the namespaces this module creates:
 * the machine's own interfaces and routing are never touched, and deleting the namespaces
 * removes the link with them.
 */
export interface NetnsPair {
  /** Namespace of the server end. */
  readonly server: string;
  /** Namespace of the client end. */
  readonly client: string;
  readonly serverAddress: string;
  readonly clientAddress: string;
  /** argv that runs `argv` inside namespace `ns` (for spawn). */
  execArgv(ns: string, argv: readonly string[]): string[];
  /** Deletes both namespaces (and so the veth pair). Safe to call twice. */
  destroy(): Promise<void>;
}

export interface NetnsPairOptions {
  /** Short, unique per run: namespace and interface names are built from it (max 15 chars). */
  tag: string;
  /** Address/prefix of the server end, e.g. "203.0.113.1/24". */
  serverCidr: string;
  /** Address/prefix of the client end, on the same subnet. */
  clientCidr: string;
}

/** Namespaces cannot be created here (no `ip`, or no CAP_SYS_ADMIN); carries the reason. */
export class NetnsUnavailableError extends Error {
  readonly code = "NETNS_UNAVAILABLE";
}

async function ip(...args: string[]): Promise<void> {
  await run("ip", args, { timeout: 10_000 });
}

export async function createNetnsPair(options: NetnsPairOptions): Promise<NetnsPair> {
  const { tag, serverCidr, clientCidr } = options;
  const server = `plns-s-${tag}`;
  const client = `plns-c-${tag}`;
  const serverIf = `plv-s-${tag}`;
  const clientIf = `plv-c-${tag}`;
  for (const name of [server, client, serverIf, clientIf]) {
    if (name.length > 15)
      throw new RangeError(`netns tag "${tag}" makes "${name}" longer than 15 characters`);
  }
  try {
    await ip("netns", "add", server);
  } catch (e) {
    const detail = (e as { stderr?: string }).stderr?.trim() || (e instanceof Error ? e.message : String(e));
    throw new NetnsUnavailableError(`cannot create a network namespace with \`ip netns add\`: ${detail}`);
  }
  const created = [server];
  const destroy = async () => {
    while (created.length > 0) {
      const ns = created.pop() as string;
      await ip("netns", "del", ns).catch(() => undefined);
    }
  };
  try {
    await ip("netns", "add", client);
    created.push(client);
    // Made inside the server namespace with its peer placed straight into the client one:
    // at no moment does either end exist in the root namespace.
    await ip(
      "-n",
      server,
      "link",
      "add",
      serverIf,
      "type",
      "veth",
      "peer",
      "name",
      clientIf,
      "netns",
      client,
    );
    for (const [ns, dev, cidr] of [
      [server, serverIf, serverCidr],
      [client, clientIf, clientCidr],
    ] as const) {
      await ip("-n", ns, "link", "set", "lo", "up");
      await ip("-n", ns, "addr", "add", cidr, "dev", dev);
      await ip("-n", ns, "link", "set", dev, "up");
    }
  } catch (e) {
    await destroy();
    throw e;
  }
  return {
    server,
    client,
    serverAddress: serverCidr.split("/")[0] ?? serverCidr,
    clientAddress: clientCidr.split("/")[0] ?? clientCidr,
    execArgv: (ns, argv) => ["netns", "exec", ns, ...argv],
    destroy,
  };
}
