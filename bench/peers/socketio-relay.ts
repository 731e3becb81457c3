import { createServer, type Server } from "node:http";
import { optionalImport, SOCKET_IO_MISSING } from "../system/optional-import.js";
import { announce, exitOnSignal, peerAddress, serveLag } from "./peer-runtime.js";

/**
 * The same relay as ws-relay, written the way a Node developer would with Socket.IO: rooms via
 * `socket.join`, fan-out via `socket.to(room).emit` (Socket.IO encodes a broadcast once and
 * writes the same packet to every member), an acknowledgement callback to the sender. WebSocket
 * transport only and no compression, like Parley and ws-relay.
 *
 *   emit("join", room, ack)                  -> ack()
 *   emit("send", { room, payload }, ack)     -> "message" { room, payload } to the others, ack()
 */

interface BroadcastOperator {
  emit(event: string, ...args: unknown[]): boolean;
}
interface IoSocket {
  join(room: string): void | Promise<void>;
  to(room: string): BroadcastOperator;
  on(event: string, listener: (...args: unknown[]) => void): void;
}
interface IoServer {
  on(event: "connection", listener: (socket: IoSocket) => void): void;
  close(): void;
}
interface SocketIoModule {
  Server: new (server: Server, options: Record<string, unknown>) => IoServer;
}

const io = await optionalImport<SocketIoModule>("socket.io");
if (!io) {
  process.stdout.write(`${JSON.stringify({ event: "unavailable", reason: SOCKET_IO_MISSING })}\n`);
  process.exit(3);
}

const server = createServer((req, res) => {
  // Socket.IO answers its own path (/socket.io/) before this listener is called.
  if (!serveLag(req, res) && !req.url?.startsWith("/socket.io/")) res.writeHead(404).end();
});
const sio = new io.Server(server, {
  serveClient: false,
  transports: ["websocket"],
  perMessageDeflate: false,
});

sio.on("connection", (socket) => {
  socket.on("join", (room: unknown, ack: unknown) => {
    if (typeof room !== "string") return;
    void socket.join(room);
    if (typeof ack === "function") ack();
  });
  socket.on("send", (msg: unknown, ack: unknown) => {
    const room = (msg as { room?: unknown } | null)?.room;
    if (typeof room !== "string") return;
    socket.to(room).emit("message", msg);
    if (typeof ack === "function") ack();
  });
});

const { host, port } = peerAddress();
server.listen(port, host, () => announce(server, "/socket.io/"));
exitOnSignal(() => {
  sio.close();
  server.closeAllConnections();
});
