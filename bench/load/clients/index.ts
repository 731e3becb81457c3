import { assertNever } from "@parley/protocol";
import type { BenchClient, ClientIdentity, ClientKind, ClientSink, ClientTarget } from "./bench-client.js";
import { ParleyClient } from "./parley-client.js";
import { loadSocketIoClient, SocketIoClient } from "./socketio-client.js";
import { WsRelayClient } from "./ws-relay-client.js";

export type { BenchClient, ClientIdentity, ClientKind, ClientSink, ClientTarget } from "./bench-client.js";

export type ClientConstructor = new (
  target: ClientTarget,
  identity: ClientIdentity,
  sink: ClientSink,
) => BenchClient;

/** The client class for a kind of server, after loading any optional package it needs. */
export async function clientClass(kind: ClientKind): Promise<ClientConstructor> {
  switch (kind) {
    case "parley":
      return ParleyClient;
    case "ws-relay":
      return WsRelayClient;
    case "socketio":
      await loadSocketIoClient();
      return SocketIoClient;
    default:
      return assertNever(kind);
  }
}
