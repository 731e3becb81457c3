import { createServer } from "node:http";
import { type RawData, WebSocket, WebSocketServer } from "ws";
import { announce, exitOnSignal, peerAddress, serveLag } from "./peer-runtime.js";

/**
 * The smallest useful relay on raw `ws`: rooms, fan-out, an acknowledgement to the sender, and
 * nothing else (no auth, no validation, no ids, no timestamps). It is the practical ceiling of
 * the Node stack that Parley is built on. It forwards the sender's frame bytes unchanged, so it
 * does even less than a real relay would (no re-serialisation).
 *
 *   {"type":"join","room":"r1"}                 -> {"type":"joined","room":"r1"}
 *   {"type":"send","room":"r1","payload":"..."} -> the same bytes to every other member,
 *                                                  {"type":"ack"} to the sender
 */

const ACK = Buffer.from('{"type":"ack"}');
const rooms = new Map<string, Set<WebSocket>>();

const server = createServer((req, res) => {
  if (!serveLag(req, res)) res.writeHead(404).end();
});
const wss = new WebSocketServer({ server, path: "/ws", perMessageDeflate: false, clientTracking: false });

wss.on("connection", (ws) => {
  const mine = new Set<string>();
  ws.on("message", (data: RawData, isBinary) => {
    if (isBinary || !Buffer.isBuffer(data)) return;
    let frame: { type?: unknown; room?: unknown };
    try {
      frame = JSON.parse(data.toString("utf8")) as { type?: unknown; room?: unknown };
    } catch {
      return;
    }
    if (typeof frame.room !== "string") return;
    if (frame.type === "send") {
      const members = rooms.get(frame.room);
      if (members) {
        for (const peer of members) {
          if (peer !== ws && peer.readyState === WebSocket.OPEN) peer.send(data, { binary: false });
        }
      }
      ws.send(ACK, { binary: false });
    } else if (frame.type === "join") {
      let members = rooms.get(frame.room);
      if (!members) {
        members = new Set();
        rooms.set(frame.room, members);
      }
      members.add(ws);
      mine.add(frame.room);
      ws.send(JSON.stringify({ type: "joined", room: frame.room }));
    }
  });
  ws.on("error", () => {});
  ws.on("close", () => {
    for (const room of mine) {
      const members = rooms.get(room);
      members?.delete(ws);
      if (members?.size === 0) rooms.delete(room);
    }
  });
});

const { host, port } = peerAddress();
server.listen(port, host, () => announce(server, "/ws"));
exitOnSignal(() => {
  wss.close();
  server.close();
  server.closeAllConnections();
});
