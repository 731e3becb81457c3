// The Lua scripts that keep the Redis bus's presence index exact, and the key layout they share.
import type { Redis } from "ioredis";
import { ENVELOPE_BATCH } from "./envelope.js";

// ---------------------------------------------------------------------------------------------
// Redis layout, all under the key prefix P (docs/OPERATIONS.md, "Several servers"):
//   P node-alive:<node>   string, the node's instance token, PX presenceTtlMs, refreshed every beat;
//                         "<bus protocol>:<random>" (a bare random token: protocol 1)
//   P nodes               set of node ids that registered and have not been swept
//   P node-users:<node>   set of user ids with a connection on that node
//   P presence:<user>     hash <node>|<connection> -> <node>, one field per authenticated socket
// channels:
//   P node:<node>         frames for users on that node (binary envelopes, envelope.ts)
//   P control             control events for every node (JSON)
// Nothing else is stored; frames travel only in PUBLISH, never in a key.
//
// The scripts build keys from the prefix instead of declaring them, so they need a standalone
// Redis (or a primary with replicas), not Redis Cluster. Each runs atomically, which is what
// makes the connection counts, online transitions and the sweep of a dead node exact.

/** Shared by every script: ARGV[1] is the prefix, ARGV[2] the calling node (always alive to itself). */
const PRELUDE = `
local p, self = ARGV[1], ARGV[2]
local alive = {}
local function isAlive(n)
  if n == self then return true end
  local a = alive[n]
  if a == nil then
    a = redis.call('EXISTS', p .. 'node-alive:' .. n) == 1
    alive[n] = a
  end
  return a
end
-- Live connections in a user's presence hash; fields of dead nodes are dropped on the way.
local function live(key)
  local f = redis.call('HGETALL', key)
  local n = 0
  for i = 1, #f, 2 do
    if isAlive(f[i + 1]) then n = n + 1 else redis.call('HDEL', key, f[i]) end
  end
  return n
end
`;

export const SCRIPTS = {
  // ARGV: p, self, userId... -> those of the users with a connection on another live node.
  parleyElsewhere: `${PRELUDE}
local out = {}
for i = 3, #ARGV do
  local nodes = redis.call('HVALS', p .. 'presence:' .. ARGV[i])
  for j = 1, #nodes do
    if nodes[j] ~= self and isAlive(nodes[j]) then
      out[#out + 1] = ARGV[i]
      break
    end
  end
end
return out`,
  // ARGV: p, self, envelope, userId... -> number of nodes published to.
  parleyFanout: `${PRELUDE}
local sent, seen = 0, {}
for i = 4, #ARGV do
  local nodes = redis.call('HVALS', p .. 'presence:' .. ARGV[i])
  for j = 1, #nodes do
    local n = nodes[j]
    if n ~= self and not seen[n] then
      seen[n] = true
      redis.call('PUBLISH', p .. 'node:' .. n, ARGV[3])
      sent = sent + 1
    end
  end
end
return sent`,
  // ARGV: p, self, entry... (bus protocol 2, envelope.ts) -> number of nodes published to.
  // Reads each entry's recipients from the entry itself, and publishes to every other node
  // hosting one of them one batch of its entries, in the order given.
  parleyFanoutBatch: `${PRELUDE}
local nodesOf, batches, order = {}, {}, {}
local function nodesFor(u)
  local list = nodesOf[u]
  if list == nil then
    list = {}
    local seen = {}
    for _, n in ipairs(redis.call('HVALS', p .. 'presence:' .. u)) do
      if n ~= self and not seen[n] then
        seen[n] = true
        list[#list + 1] = n
      end
    end
    nodesOf[u] = list
  end
  return list
end
for i = 3, #ARGV do
  local e = ARGV[i]
  local targets, users = {}, {}
  if string.byte(e, 5) == 1 then
    local count = struct.unpack('>I2', e, 7)
    local at = 9
    for k = 1, count do
      local len = struct.unpack('>I2', e, at)
      users[k] = string.sub(e, at + 2, at + 1 + len)
      at = at + 2 + len
    end
  else
    local len = struct.unpack('>I2', e, 6)
    users[1] = string.sub(e, 8, 7 + len)
  end
  for _, u in ipairs(users) do
    for _, n in ipairs(nodesFor(u)) do
      if not targets[n] then
        targets[n] = true
        local b = batches[n]
        if b == nil then
          b = { string.char(${ENVELOPE_BATCH}) }
          batches[n] = b
          order[#order + 1] = n
        end
        b[#b + 1] = e
      end
    end
  end
end
for _, n in ipairs(order) do
  redis.call('PUBLISH', p .. 'node:' .. n, table.concat(batches[n]))
end
return #order`,
  // ARGV: p, self, userId, connectionId -> the user's live connections in the cluster.
  parleyOpen: `${PRELUDE}
local key = p .. 'presence:' .. ARGV[3]
redis.call('HSET', key, self .. '|' .. ARGV[4], self)
redis.call('SADD', p .. 'node-users:' .. self, ARGV[3])
return live(key)`,
  // ARGV: p, self, userId, connectionId, lastLocal -> { removed, live connections left }.
  parleyClose: `${PRELUDE}
local key = p .. 'presence:' .. ARGV[3]
local removed = redis.call('HDEL', key, self .. '|' .. ARGV[4])
if ARGV[5] == '1' then redis.call('SREM', p .. 'node-users:' .. self, ARGV[3]) end
return { removed, live(key) }`,
  // ARGV: p, self -> user ids with a connection on a live node.
  parleyOnline: `${PRELUDE}
local keys, seen = {}, {}
local nodes = redis.call('SMEMBERS', p .. 'nodes')
nodes[#nodes + 1] = self
for _, n in ipairs(nodes) do
  if not seen[n] and isAlive(n) then
    seen[n] = true
    keys[#keys + 1] = p .. 'node-users:' .. n
  end
end
return redis.call('SUNION', unpack(keys))`,
  // ARGV: p, self, ttlMs, instance -> { previous instance token or '', users who went offline,
  // { node, its alive token }... of the other live nodes }. Refreshes this node's alive key,
  // then removes every dead node's connections.
  parleyBeat: `${PRELUDE}
local aliveKey = p .. 'node-alive:' .. self
local previous = redis.call('GET', aliveKey)
redis.call('SET', aliveKey, ARGV[4], 'PX', ARGV[3])
redis.call('SADD', p .. 'nodes', self)
local offline = {}
for _, n in ipairs(redis.call('SMEMBERS', p .. 'nodes')) do
  if not isAlive(n) then
    local usersKey = p .. 'node-users:' .. n
    for _, u in ipairs(redis.call('SMEMBERS', usersKey)) do
      local key = p .. 'presence:' .. u
      if redis.call('EXISTS', key) == 1 and live(key) == 0 then offline[#offline + 1] = u end
    end
    redis.call('DEL', usersKey)
    redis.call('SREM', p .. 'nodes', n)
  end
end
local peers = {}
for _, n in ipairs(redis.call('SMEMBERS', p .. 'nodes')) do
  if n ~= self then
    local token = redis.call('GET', p .. 'node-alive:' .. n)
    if token then
      peers[#peers + 1] = n
      peers[#peers + 1] = token
    end
  end
end
return { previous or '', offline, peers }`,
  // ARGV: p, self, leave, userId1, connectionId1, ... -> { came online, went offline }.
  // Makes this node's entries exactly its local connections (after an outage, a restart under
  // the same node id, or a shutdown with leave = '1').
  parleyReconcile: `${PRELUDE}
local usersKey = p .. 'node-users:' .. self
local want, wantUser, wasLive, came, went = {}, {}, {}, {}, {}
for i = 4, #ARGV, 2 do
  want[self .. '|' .. ARGV[i + 1]] = true
  wantUser[ARGV[i]] = true
end
for u in pairs(wantUser) do wasLive[u] = live(p .. 'presence:' .. u) > 0 end
for _, u in ipairs(redis.call('SMEMBERS', usersKey)) do
  local key = p .. 'presence:' .. u
  local f = redis.call('HGETALL', key)
  local removed = false
  for i = 1, #f, 2 do
    if f[i + 1] == self and not want[f[i]] then
      redis.call('HDEL', key, f[i])
      removed = true
    end
  end
  if not wantUser[u] then
    redis.call('SREM', usersKey, u)
    if removed and live(key) == 0 then went[#went + 1] = u end
  end
end
for i = 4, #ARGV, 2 do
  redis.call('HSET', p .. 'presence:' .. ARGV[i], self .. '|' .. ARGV[i + 1], self)
  redis.call('SADD', usersKey, ARGV[i])
end
for u in pairs(wantUser) do
  if not wasLive[u] then came[#came + 1] = u end
end
if ARGV[3] == '1' then
  redis.call('DEL', p .. 'node-alive:' .. self, usersKey)
  redis.call('SREM', p .. 'nodes', self)
end
return { came, went }`,
} as const;

export interface BusScripts {
  parleyElsewhere(p: string, self: string, userIds: readonly string[]): Promise<string[]>;
  parleyFanout(p: string, self: string, envelope: Buffer, userIds: readonly string[]): Promise<number>;
  parleyFanoutBatch(p: string, self: string, entries: readonly Buffer[]): Promise<number>;
  parleyOpen(p: string, self: string, userId: string, connectionId: string): Promise<number>;
  parleyClose(
    p: string,
    self: string,
    userId: string,
    connectionId: string,
    lastLocal: "0" | "1",
  ): Promise<[number, number]>;
  parleyOnline(p: string, self: string): Promise<string[]>;
  parleyBeat(p: string, self: string, ttlMs: number, instance: string): Promise<[string, string[], string[]]>;
  parleyReconcile(
    p: string,
    self: string,
    leave: "0" | "1",
    pairs: readonly string[],
  ): Promise<[string[], string[]]>;
}

export type ScriptedRedis = Redis & BusScripts;
