import pino from "pino";
import { startMdnsAdvertiser } from "../../../packages/server/src/lan/mdns.js";

// A fixture for the discovery tests, run inside a test network namespace: announces a Parley
// service on one interface as a forger on the LAN would, naming any CA fingerprint, until
// SIGTERM. Usage: mdns-announce.ts <interface address> <port> <fingerprint> <host name>.

const [interfaceAddress, port, caFingerprint, hostname] = process.argv.slice(2);
if (!interfaceAddress || !port || !caFingerprint || !hostname) {
  process.stderr.write("usage: mdns-announce.ts <interface address> <port> <fingerprint> <host name>\n");
  process.exit(2);
}
const advertiser = startMdnsAdvertiser({
  port: Number(port),
  caFingerprint,
  tls: true,
  interfaceAddress,
  hostname,
  log: pino({ level: "info" }),
});
process.once("SIGTERM", () => {
  void advertiser.stop().then(() => process.exit(0));
});
