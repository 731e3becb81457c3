import assert from "node:assert/strict";
import { test } from "node:test";
import { ServerList } from "./servers.js";

test("one URL is a list of one; trailing slashes and duplicates are dropped", () => {
  assert.deepEqual(new ServerList("https://a.test:8443/").all, ["https://a.test:8443"]);
  const list = new ServerList(["https://a.test/", "https://b.test", "https://a.test"]);
  assert.deepEqual(list.all, ["https://a.test", "https://b.test"]);
  assert.equal(list.current, "https://a.test");
});

test("an empty list or an entry that is not an http(s) URL throws a TypeError", () => {
  assert.throws(() => new ServerList([]), TypeError);
  assert.throws(() => new ServerList(["https://a.test", "wss://b.test/ws"]), TypeError);
  assert.throws(() => new ServerList(["https://a.test", 7 as unknown as string]), TypeError);
  assert.throws(() => new ServerList("a.test"), TypeError);
  assert.throws(() => new ServerList(undefined as unknown as string), TypeError);
});

test("failover moves round-robin to the next server and wraps around", () => {
  const list = new ServerList(["https://a.test", "https://b.test", "https://c.test"]);
  assert.equal(list.failover("https://a.test"), "https://b.test");
  assert.equal(list.failover("https://b.test"), "https://c.test");
  assert.equal(list.failover("https://c.test"), "https://a.test");
});

test("a second report of the same outage does not skip a server", () => {
  const list = new ServerList(["https://a.test", "https://b.test", "https://c.test"]);
  list.failover("https://a.test"); // the socket saw A go away
  assert.equal(list.failover("https://a.test"), "https://b.test", "a REST call saw it too");
  assert.equal(list.current, "https://b.test");
});

test("with one server, failover stays on it", () => {
  const list = new ServerList("https://lb.test");
  assert.equal(list.failover("https://lb.test"), "https://lb.test");
});

test("the WebSocket URL keeps the scheme's security and adds the protocol's path", () => {
  assert.equal(ServerList.wsUrl("https://a.test:8443"), "wss://a.test:8443/ws");
  assert.equal(ServerList.wsUrl("http://127.0.0.1:8080"), "ws://127.0.0.1:8080/ws");
});
