import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import { asRoomId, asSessionId, asUserId, type RoomId, type UserId } from "../domain/ids.js";
import { type NewRoom, type RoomRecord, type Storage, StorageConflictError } from "./storage.js";

/** How the contract suite gets databases from one backend. */
export interface StorageHarness {
  readonly dialect: Storage["dialect"];
  /**
   * A migrated, empty storage. Its database may be the one an earlier test used, emptied: each
   * test closes its storages before the next one asks for a database.
   */
  create(): Promise<Storage>;
  /** A new handle on the database behind `storage`, which the caller has closed. */
  reopen(storage: Storage): Promise<Storage>;
}

// Past 2^32 ms, so a time truncated to 32 bits or returned as a string would show.
const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;

/**
 * The behaviour every Storage implementation must have. Run it once per backend; each test
 * gets an empty database and closes it afterwards.
 */
export function storageContract(name: string, harness: StorageHarness): void {
  async function fresh(t: TestContext): Promise<Storage> {
    const storage = await harness.create();
    t.after(() => storage.close());
    return storage;
  }

  async function addUser(s: Storage, name: string, isAdmin = false): Promise<UserId> {
    const id = asUserId(`u-${name}`);
    await s.createUser({ id, username: name, passwordHash: `hash-${name}`, isAdmin, createdAt: T0 });
    return id;
  }

  function room(id: string, overrides: Partial<NewRoom> = {}): NewRoom {
    return {
      id: asRoomId(id),
      kind: "room",
      name: `room ${id}`,
      topic: null,
      isPublic: true,
      ownerId: null,
      pairKey: null,
      createdAt: T0,
      maxMembers: null,
      passphraseHash: null,
      ...overrides,
    };
  }

  const conflictOn = (constraint: string) => (error: unknown) =>
    error instanceof StorageConflictError &&
    error.code === "STORAGE_CONFLICT" &&
    error.constraint === constraint;

  describe(name, () => {
    describe("users", () => {
      test("starts with no users", async (t) => {
        const s = await fresh(t);
        assert.equal(await s.countUsers(), 0);
        assert.deepEqual(await s.listUsers(), []);
      });

      test("returns a created user by id and by name", async (t) => {
        const s = await fresh(t);
        const created = await s.createUser({
          id: asUserId("u1"),
          username: "Alice",
          passwordHash: "h1",
          isAdmin: true,
          createdAt: T0,
        });
        const expected = {
          id: "u1",
          username: "Alice",
          passwordHash: "h1",
          isAdmin: true,
          disabled: false,
          createdAt: T0,
        };
        assert.deepEqual(created, expected);
        assert.deepEqual(await s.findUserById(asUserId("u1")), expected);
        assert.deepEqual(await s.findUserByUsername("Alice"), expected);
      });

      test("finds a user by name regardless of case and Unicode compatibility form", async (t) => {
        const s = await fresh(t);
        const id = await addUser(s, "Alice");
        assert.equal((await s.findUserByUsername("ALICE"))?.id, id);
        assert.equal((await s.findUserByUsername("ａｌｉｃｅ"))?.id, id);
        assert.equal((await s.findUserByUsername("Alice"))?.username, "Alice", "keeps the name as typed");
      });

      test("returns undefined for an unknown user", async (t) => {
        const s = await fresh(t);
        assert.equal(await s.findUserById(asUserId("nobody")), undefined);
        assert.equal(await s.findUserByUsername("nobody"), undefined);
      });

      test("refuses a second user whose name differs only in case", async (t) => {
        const s = await fresh(t);
        await addUser(s, "alice");
        await assert.rejects(
          s.createUser({
            id: asUserId("u2"),
            username: "ALICE",
            passwordHash: "h",
            isAdmin: false,
            createdAt: T0,
          }),
          conflictOn("username"),
        );
        assert.equal(await s.countUsers(), 1);
      });

      test("refuses a second user with the same id", async (t) => {
        const s = await fresh(t);
        await addUser(s, "alice");
        await assert.rejects(
          s.createUser({
            id: asUserId("u-alice"),
            username: "bob",
            passwordHash: "h",
            isAdmin: false,
            createdAt: T0,
          }),
          conflictOn("user_id"),
        );
      });

      test("lists and counts every user", async (t) => {
        const s = await fresh(t);
        await addUser(s, "carol");
        await addUser(s, "Bob");
        await addUser(s, "alice", true);
        assert.equal(await s.countUsers(), 3);
        const users = await s.listUsers();
        assert.deepEqual(
          users.map((u) => [u.username, u.isAdmin]),
          [
            ["alice", true],
            ["Bob", false],
            ["carol", false],
          ],
        );
      });

      test("replaces a password hash", async (t) => {
        const s = await fresh(t);
        const id = await addUser(s, "alice");
        await s.updatePasswordHash(id, "new-hash");
        assert.equal((await s.findUserById(id))?.passwordHash, "new-hash");
      });

      test("disables and re-enables a user", async (t) => {
        const s = await fresh(t);
        const id = await addUser(s, "alice");
        await s.setUserDisabled(id, true);
        assert.equal((await s.findUserById(id))?.disabled, true);
        await s.setUserDisabled(id, false);
        assert.equal((await s.findUserById(id))?.disabled, false);
      });

      test("grants and takes away admin rights of one user only", async (t) => {
        const s = await fresh(t);
        const id = await addUser(s, "alice");
        const other = await addUser(s, "bob");
        await s.setUserAdmin(id, true);
        assert.equal((await s.findUserById(id))?.isAdmin, true);
        assert.equal((await s.findUserById(other))?.isAdmin, false);
        await s.setUserAdmin(id, false);
        assert.equal((await s.findUserById(id))?.isAdmin, false);
      });

      test("demotes an admin only while another enabled admin remains", async (t) => {
        const s = await fresh(t);
        const alice = await addUser(s, "alice", true);
        const bob = await addUser(s, "bob", true);
        await s.setUserDisabled(bob, true);
        assert.equal(await s.demoteAdminUnlessLast(alice), false, "a disabled admin does not count");
        await s.setUserDisabled(bob, false);
        assert.equal(await s.demoteAdminUnlessLast(alice), true);
        assert.equal((await s.findUserById(alice))?.isAdmin, false);
        assert.equal(await s.demoteAdminUnlessLast(bob), false, "bob is the last admin now");
        assert.equal(await s.demoteAdminUnlessLast(alice), false, "not an admin");
        assert.equal((await s.findUserById(bob))?.isAdmin, true);
      });
    });

    describe("sessions", () => {
      async function withSessions(t: TestContext) {
        const s = await fresh(t);
        const alice = await addUser(s, "alice");
        const bob = await addUser(s, "bob");
        const add = (id: string, userId: UserId) =>
          s.createSession({ id: asSessionId(id), userId, createdAt: T0, expiresAt: T0 + HOUR });
        return { s, alice, bob, add };
      }

      test("returns a created session, not revoked", async (t) => {
        const { s, alice, add } = await withSessions(t);
        const expected = { id: "s1", userId: alice, createdAt: T0, expiresAt: T0 + HOUR, revokedAt: null };
        assert.deepEqual(await add("s1", alice), expected);
        assert.deepEqual(await s.findSession(asSessionId("s1")), expected);
        assert.equal(await s.findSession(asSessionId("unknown")), undefined);
      });

      test("refuses a second session with the same id", async (t) => {
        const { alice, add } = await withSessions(t);
        await add("s1", alice);
        await assert.rejects(add("s1", alice), conflictOn("session_id"));
      });

      test("refuses a session for a user that does not exist", async (t) => {
        const { add } = await withSessions(t);
        await assert.rejects(add("s1", asUserId("ghost")));
      });

      test("revokes a session once and keeps the first revocation time", async (t) => {
        const { s, alice, add } = await withSessions(t);
        await add("s1", alice);
        assert.equal(await s.revokeSession(asSessionId("s1"), T0 + 1), true);
        assert.equal(await s.revokeSession(asSessionId("s1"), T0 + 2), false);
        assert.equal((await s.findSession(asSessionId("s1")))?.revokedAt, T0 + 1);
        assert.equal(await s.revokeSession(asSessionId("unknown"), T0), false);
      });

      test("revokes every live session of a user except the one to keep", async (t) => {
        const { s, alice, bob, add } = await withSessions(t);
        for (const id of ["a1", "a2", "a3", "a4"]) await add(id, alice);
        await add("b1", bob);
        await s.revokeSession(asSessionId("a4"), T0 + 1);

        const revoked = await s.revokeUserSessions(alice, T0 + 2, asSessionId("a1"));
        assert.deepEqual([...revoked].sort(), ["a2", "a3"]);
        assert.equal((await s.findSession(asSessionId("a1")))?.revokedAt, null);
        assert.equal((await s.findSession(asSessionId("a2")))?.revokedAt, T0 + 2);
        assert.equal((await s.findSession(asSessionId("a4")))?.revokedAt, T0 + 1, "already revoked");
        assert.equal((await s.findSession(asSessionId("b1")))?.revokedAt, null, "another user's");
      });

      test("revokes all of a user's sessions when none is kept", async (t) => {
        const { s, alice, add } = await withSessions(t);
        await add("a1", alice);
        await add("a2", alice);
        assert.deepEqual([...(await s.revokeUserSessions(alice, T0 + 1))].sort(), ["a1", "a2"]);
        assert.deepEqual(await s.revokeUserSessions(alice, T0 + 2), []);
      });

      test("revokes the live sessions bound to one device only (IDENT-5)", async (t) => {
        const { s, alice, bob, add } = await withSessions(t);
        for (const id of ["a1", "a2", "a3", "a4"]) await add(id, alice);
        await add("b1", bob);
        await s.bindSessionDevice(asSessionId("a1"), "laptop");
        await s.bindSessionDevice(asSessionId("a2"), "phone");
        await s.bindSessionDevice(asSessionId("a3"), "phone");
        await s.bindSessionDevice(asSessionId("a3"), "laptop"); // the latest device counts
        await s.bindSessionDevice(asSessionId("b1"), "laptop");
        assert.deepEqual(await s.revokeDeviceSessions(alice, "laptop", T0 + 1).then((r) => r.sort()), [
          "a1",
          "a3",
        ]);
        assert.equal((await s.findSession(asSessionId("a2")))?.revokedAt, null);
        assert.equal((await s.findSession(asSessionId("a4")))?.revokedAt, null, "bound to no device");
        assert.equal((await s.findSession(asSessionId("b1")))?.revokedAt, null, "another user's");
        assert.deepEqual(await s.revokeDeviceSessions(alice, "laptop", T0 + 2), []);
      });
    });

    describe("refresh tokens", () => {
      async function withToken(t: TestContext, expiresAt = T0 + HOUR) {
        const s = await fresh(t);
        const alice = await addUser(s, "alice");
        const sessionId = asSessionId("s1");
        await s.createSession({ id: sessionId, userId: alice, createdAt: T0, expiresAt: T0 + 24 * HOUR });
        await s.insertRefreshToken({ tokenHash: "th1", sessionId, createdAt: T0, expiresAt });
        return { s, sessionId };
      }

      test("finds a stored refresh token by its hash", async (t) => {
        const { s, sessionId } = await withToken(t);
        assert.deepEqual(await s.findRefreshToken("th1"), {
          tokenHash: "th1",
          sessionId,
          createdAt: T0,
          expiresAt: T0 + HOUR,
          usedAt: null,
        });
        assert.equal(await s.findRefreshToken("unknown"), undefined);
      });

      test("refuses a second refresh token with the same hash", async (t) => {
        const { s, sessionId } = await withToken(t);
        await assert.rejects(
          s.insertRefreshToken({ tokenHash: "th1", sessionId, createdAt: T0, expiresAt: T0 + HOUR }),
          conflictOn("refresh_token"),
        );
      });

      test("marks a refresh token used only once", async (t) => {
        const { s } = await withToken(t);
        assert.equal(await s.markRefreshTokenUsed("th1", T0 + 1), true);
        assert.equal(await s.markRefreshTokenUsed("th1", T0 + 2), false);
        assert.equal((await s.findRefreshToken("th1"))?.usedAt, T0 + 1);
        assert.equal(await s.markRefreshTokenUsed("unknown", T0), false);
      });

      test("lets exactly one of several concurrent refreshes use a token", async (t) => {
        const { s } = await withToken(t);
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => s.markRefreshTokenUsed("th1", T0 + i)),
        );
        assert.equal(results.filter(Boolean).length, 1);
      });

      test("purges only refresh tokens that expired before the cutoff", async (t) => {
        const { s, sessionId } = await withToken(t, T0 + 10);
        await s.insertRefreshToken({ tokenHash: "th2", sessionId, createdAt: T0, expiresAt: T0 + 20 });
        await s.insertRefreshToken({ tokenHash: "th3", sessionId, createdAt: T0, expiresAt: T0 + 30 });
        assert.equal(await s.purgeExpiredRefreshTokens(T0 + 20), 1);
        assert.equal(await s.findRefreshToken("th1"), undefined);
        assert.notEqual(await s.findRefreshToken("th2"), undefined);
        assert.equal(await s.purgeExpiredRefreshTokens(T0 + 20), 0);
      });
    });

    describe("registration invites", () => {
      async function withInvite(t: TestContext) {
        const s = await fresh(t);
        const admin = await addUser(s, "admin", true);
        await s.createInvite({
          id: "00000000000000a1",
          codeHash: "ch1",
          createdBy: admin,
          createdAt: T0,
          expiresAt: T0 + HOUR,
        });
        return { s, admin };
      }

      test("consumes an unused invite once", async (t) => {
        const { s } = await withInvite(t);
        assert.equal(await s.consumeInvite("ch1", asUserId("new1"), T0 + 1), true);
        assert.equal(await s.consumeInvite("ch1", asUserId("new2"), T0 + 2), false);
      });

      test("lets exactly one of several concurrent registrations consume an invite", async (t) => {
        const { s } = await withInvite(t);
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => s.consumeInvite("ch1", asUserId(`new${i}`), T0 + 1)),
        );
        assert.equal(results.filter(Boolean).length, 1);
      });

      test("refuses an expired invite without using it up", async (t) => {
        const { s } = await withInvite(t);
        assert.equal(await s.consumeInvite("ch1", asUserId("late"), T0 + HOUR), false, "at expiry");
        assert.equal(await s.consumeInvite("ch1", asUserId("late"), T0 + 2 * HOUR), false);
        assert.equal(await s.consumeInvite("ch1", asUserId("early"), T0 + HOUR - 1), true);
      });

      test("refuses an unknown invite", async (t) => {
        const { s } = await withInvite(t);
        assert.equal(await s.consumeInvite("unknown", asUserId("x"), T0), false);
      });

      test("refuses a second invite with the same code", async (t) => {
        const { s, admin } = await withInvite(t);
        await assert.rejects(
          s.createInvite({
            id: "00000000000000a2",
            codeHash: "ch1",
            createdBy: admin,
            createdAt: T0,
            expiresAt: T0 + HOUR,
          }),
          conflictOn("invite"),
        );
      });

      test("lets a multi-use invite register exactly as many accounts as it allows, even at once", async (t) => {
        const { s, admin } = await withInvite(t);
        await s.createInvite({
          id: "00000000000000b1",
          codeHash: "ch3",
          createdBy: admin,
          createdAt: T0,
          expiresAt: T0 + HOUR,
          maxUses: 3,
        });
        const results = await Promise.all(
          Array.from({ length: 6 }, (_, i) => s.consumeInvite("ch3", asUserId(`m${i}`), T0 + 1)),
        );
        assert.equal(results.filter(Boolean).length, 3);
        const listed = (await s.listInvites(10)).find((i) => i.id === "00000000000000b1");
        assert.equal(listed?.uses, 3);
        assert.equal(listed?.maxUses, 3);
      });

      test("lists invites newest first with their creator, and a revoked one can no longer be used", async (t) => {
        const { s, admin } = await withInvite(t);
        await s.createInvite({
          id: "00000000000000c1",
          codeHash: "ch4",
          createdBy: admin,
          createdAt: T0 + 5,
          expiresAt: T0 + HOUR,
        });
        const list = await s.listInvites(10);
        assert.deepEqual(
          list.map((i) => [i.id, i.createdByUsername, i.revokedAt]),
          [
            ["00000000000000c1", "admin", null],
            ["00000000000000a1", "admin", null],
          ],
        );
        assert.equal((await s.listInvites(1)).length, 1);
        assert.equal(await s.revokeInvite("00000000000000c1", T0 + 6), true);
        assert.equal(await s.revokeInvite("00000000000000c1", T0 + 7), false, "already revoked");
        assert.equal(await s.revokeInvite("ffffffffffffffff", T0 + 7), false, "unknown");
        assert.equal(await s.consumeInvite("ch4", asUserId("x"), T0 + 8), false);
        assert.equal((await s.listInvites(10))[0]?.revokedAt, T0 + 6);
      });
    });

    describe("rooms", () => {
      async function withUsers(t: TestContext) {
        const s = await fresh(t);
        return { s, alice: await addUser(s, "alice"), bob: await addUser(s, "bob") };
      }

      test("lists and counts every room, public or private, but no direct conversation, a page at a time", async (t) => {
        const { s, alice, bob } = await withUsers(t);
        await s.createRoom(room("r1", { ownerId: alice, createdAt: T0 + 1 }));
        await s.createRoom(room("r2", { ownerId: bob, isPublic: false, createdAt: T0 + 2 }));
        await s.createRoom(room("r3", { ownerId: bob, createdAt: T0 + 2 }));
        await s.createRoom(room("d1", { kind: "direct", pairKey: "a:b", createdAt: T0 + 3 }));
        assert.equal(await s.countRooms(), 3);
        const first = await s.listAllRooms({ limit: 2 });
        assert.deepEqual(
          first.map((r) => r.id),
          ["r1", "r2"],
        );
        const last = first.at(-1) as RoomRecord;
        const second = await s.listAllRooms({ after: { createdAt: last.createdAt, id: last.id }, limit: 2 });
        assert.deepEqual(
          second.map((r) => r.id),
          ["r3"],
        );
      });

      test("returns a created room by id", async (t) => {
        const { s, alice } = await withUsers(t);
        const r = room("r1", { topic: "plans", isPublic: false, ownerId: alice });
        assert.deepEqual(await s.createRoom(r), r);
        assert.deepEqual(await s.findRoom(asRoomId("r1")), r);
        assert.equal(await s.findRoom(asRoomId("unknown")), undefined);
      });

      test("refuses a second room with the same id", async (t) => {
        const { s } = await withUsers(t);
        await s.createRoom(room("r1"));
        await assert.rejects(s.createRoom(room("r1", { name: "other" })), conflictOn("room_id"));
      });

      test("finds a direct conversation by its pair key", async (t) => {
        const { s, alice, bob } = await withUsers(t);
        const pairKey = [alice, bob].sort().join(":");
        const dm = room("d1", { kind: "direct", name: "", isPublic: false, pairKey });
        await s.createRoom(dm);
        assert.deepEqual(await s.findDirectRoom(pairKey), dm);
        assert.equal(await s.findDirectRoom("u-x:u-y"), undefined);
      });

      test("refuses a second direct conversation for the same pair", async (t) => {
        const { s, alice, bob } = await withUsers(t);
        const pairKey = [alice, bob].sort().join(":");
        await s.createRoom(room("d1", { kind: "direct", isPublic: false, pairKey }));
        await assert.rejects(
          s.createRoom(room("d2", { kind: "direct", isPublic: false, pairKey })),
          conflictOn("direct_pair"),
        );
      });

      test("allows any number of rooms without a pair key", async (t) => {
        const { s } = await withUsers(t);
        await s.createRoom(room("r1"));
        await s.createRoom(room("r2"));
        assert.equal((await s.listPublicRooms()).length, 2);
      });

      test("lists public rooms only", async (t) => {
        const { s, alice, bob } = await withUsers(t);
        await s.createRoom(room("pub", { createdAt: T0 + 2 }));
        await s.createRoom(room("priv", { isPublic: false }));
        await s.createRoom(room("dm", { kind: "direct", isPublic: false, pairKey: `${alice}:${bob}` }));
        await s.createRoom(room("pub0", { createdAt: T0 + 1 }));
        assert.deepEqual(
          (await s.listPublicRooms()).map((r) => r.id),
          ["pub0", "pub"],
        );
      });

      test("pages the public rooms in a stable order and finds them by name", async (t) => {
        const { s } = await withUsers(t);
        for (const [id, name, at] of [
          ["a", "Ops", T0 + 1],
          ["c", "ops-night", T0 + 2],
          ["b", "Lunch", T0 + 2],
          ["d", "100%_sure", T0 + 3],
        ] as const) {
          await s.createRoom(room(id, { name, createdAt: at }));
        }
        const first = await s.listPublicRooms({ limit: 2 });
        assert.deepEqual(
          first.map((r) => r.id),
          ["a", "b"],
        );
        const last = first.at(-1)!;
        const second = await s.listPublicRooms({
          limit: 2,
          after: { createdAt: last.createdAt, id: last.id },
        });
        assert.deepEqual(
          second.map((r) => r.id),
          ["c", "d"],
          "the tie at T0 + 2 is broken by id",
        );
        assert.deepEqual(
          (await s.listPublicRooms({ query: "OPS" })).map((r) => r.id),
          ["a", "c"],
        );
        assert.deepEqual(
          (await s.listPublicRooms({ query: "%_" })).map((r) => r.id),
          ["d"],
          "LIKE wildcards in the query are literal",
        );
      });

      test("counts the rooms a user owns, not direct conversations", async (t) => {
        const { s, alice, bob } = await withUsers(t);
        await s.createRoom(room("r1", { ownerId: alice }));
        await s.createRoom(room("r2", { ownerId: alice, isPublic: false }));
        await s.createRoom(room("r3", { ownerId: bob }));
        await s.createRoom(
          room("dm", { kind: "direct", isPublic: false, ownerId: alice, pairKey: `${alice}:${bob}` }),
        );
        assert.equal(await s.countRoomsOwnedBy(alice), 2);
        assert.equal(await s.countRoomsOwnedBy(bob), 1);
      });

      test("lists the rooms a user is a member of", async (t) => {
        const { s, alice, bob } = await withUsers(t);
        for (const id of ["r1", "r2", "r3"]) await s.createRoom(room(id, { isPublic: id !== "r2" }));
        await s.addMember(asRoomId("r1"), alice, "owner", T0);
        await s.addMember(asRoomId("r2"), alice, "member", T0);
        await s.addMember(asRoomId("r3"), bob, "member", T0);
        assert.deepEqual(
          (await s.listRoomsOfUser(alice)).map((r) => r.id),
          ["r1", "r2"],
        );
        assert.deepEqual(await s.listRoomsOfUser(asUserId("nobody")), []);
      });

      test("changes a room's settings, keeping what the patch leaves out (ROOM-16)", async (t) => {
        const { s } = await withUsers(t);
        const r1 = asRoomId("r1");
        await s.createRoom(room("r1", { topic: "old", maxMembers: 4, passphraseHash: "h1" }));
        await s.updateRoom(r1, { name: "renamed", isPublic: false });
        assert.deepEqual(await s.findRoom(r1), {
          ...room("r1", { topic: "old", maxMembers: 4, passphraseHash: "h1" }),
          name: "renamed",
          isPublic: false,
        });
        await s.updateRoom(r1, { topic: null, maxMembers: null, passphraseHash: null });
        const after = await s.findRoom(r1);
        assert.deepEqual([after?.topic, after?.maxMembers, after?.passphraseHash], [null, null, null]);
        await s.updateRoom(r1, {});
      });

      test("counts members per room and marks moderators, never the owner (ROOM-16)", async (t) => {
        const { s, alice, bob } = await withUsers(t);
        const r1 = asRoomId("r1");
        await s.createRoom(room("r1"));
        await s.createRoom(room("r2"));
        await s.addMember(r1, alice, "owner", T0);
        await s.addMember(r1, bob, "member", T0 + 1);
        assert.deepEqual([...(await s.countMembers([r1, asRoomId("r2")]))], [[r1, 2]]);
        assert.deepEqual(await s.countMembers([]), new Map());
        assert.equal(await s.setMemberRole(r1, bob, "moderator"), true);
        assert.equal(await s.setMemberRole(r1, alice, "moderator"), false, "the owner stays owner");
        assert.equal(await s.setMemberRole(asRoomId("r2"), bob, "moderator"), false, "not a member there");
        assert.deepEqual(
          (await s.listMembers(r1)).map((m) => m.role),
          ["owner", "moderator"],
        );
        await s.setRoomOwner(r1, bob);
        assert.deepEqual(
          (await s.listMembers(r1)).map((m) => m.role),
          ["member", "owner"],
          "a moderator made owner is owner only",
        );
      });

      test("finds, lists and counts pending room invitations (ROOM-17)", async (t) => {
        const { s, alice, bob } = await withUsers(t);
        await s.createRoom(room("r1"));
        await s.createRoom(room("r2"));
        await s.addRoomInvite(asRoomId("r2"), bob, alice, T0 + 2);
        await s.addRoomInvite(asRoomId("r1"), bob, alice, T0 + 1);
        assert.deepEqual(await s.findRoomInvite(asRoomId("r1"), bob), {
          roomId: "r1",
          userId: bob,
          invitedBy: alice,
          createdAt: T0 + 1,
        });
        assert.equal(await s.findRoomInvite(asRoomId("r1"), alice), undefined);
        assert.deepEqual(
          (await s.listRoomInvitesOf(bob)).map((i) => i.roomId),
          ["r1", "r2"],
        );
        assert.equal(await s.countRoomInvitesBy(alice), 2);
        await s.removeRoomInvite(asRoomId("r1"), bob);
        assert.equal(await s.countRoomInvitesBy(alice), 1);
      });

      test("adds a member once however often it is asked", async (t) => {
        const { s, alice, bob } = await withUsers(t);
        const r1 = asRoomId("r1");
        await s.createRoom(room("r1"));
        await s.addMember(r1, alice, "owner", T0);
        await s.addMember(r1, bob, "member", T0 + 5);
        await s.addMember(r1, bob, "owner", T0 + 9);
        assert.deepEqual(await s.listMembers(r1), [
          { userId: alice, role: "owner", joinedAt: T0 },
          { userId: bob, role: "member", joinedAt: T0 + 5 },
        ]);
        assert.equal(await s.isMember(r1, bob), true);
      });

      test("removes a member and reports whether there was one", async (t) => {
        const { s, alice } = await withUsers(t);
        const r1 = asRoomId("r1");
        await s.createRoom(room("r1"));
        await s.addMember(r1, alice, "member", T0);
        assert.equal(await s.removeMember(r1, alice), true);
        assert.equal(await s.removeMember(r1, alice), false);
        assert.equal(await s.isMember(r1, alice), false);
        assert.deepEqual(await s.listMembers(r1), []);
      });

      test("records a room invite once and removes it", async (t) => {
        const { s, alice, bob } = await withUsers(t);
        const r1 = asRoomId("r1");
        await s.createRoom(room("r1", { isPublic: false }));
        assert.equal(await s.hasRoomInvite(r1, bob), false);
        await s.addRoomInvite(r1, bob, alice, T0);
        await s.addRoomInvite(r1, bob, alice, T0 + 1);
        assert.equal(await s.hasRoomInvite(r1, bob), true);
        assert.equal(await s.hasRoomInvite(r1, alice), false);
        await s.removeRoomInvite(r1, bob);
        await s.removeRoomInvite(r1, bob);
        assert.equal(await s.hasRoomInvite(r1, bob), false);
      });

      test("hands a room to a new owner and demotes the previous one", async (t) => {
        const { s, alice, bob } = await withUsers(t);
        const r1 = asRoomId("r1");
        await s.createRoom(room("r1", { ownerId: alice }));
        await s.createRoom(room("r2", { ownerId: alice }));
        await s.addMember(r1, alice, "owner", T0);
        await s.addMember(r1, bob, "member", T0 + 1);
        await s.addMember(asRoomId("r2"), alice, "owner", T0);

        await s.setRoomOwner(r1, bob);
        assert.equal((await s.findRoom(r1))?.ownerId, bob);
        assert.deepEqual(await s.listMembers(r1), [
          { userId: alice, role: "member", joinedAt: T0 },
          { userId: bob, role: "owner", joinedAt: T0 + 1 },
        ]);
        assert.equal((await s.findRoom(asRoomId("r2")))?.ownerId, alice, "other rooms untouched");
        assert.deepEqual(await s.listMembers(asRoomId("r2")), [
          { userId: alice, role: "owner", joinedAt: T0 },
        ]);
      });

      test("deletes a room together with its members and invites", async (t) => {
        const { s, alice, bob } = await withUsers(t);
        const r1: RoomId = asRoomId("r1");
        await s.createRoom(room("r1", { ownerId: alice }));
        await s.createRoom(room("r2"));
        await s.addMember(r1, alice, "owner", T0);
        await s.addMember(asRoomId("r2"), alice, "member", T0);
        await s.addRoomInvite(r1, bob, alice, T0);

        await s.deleteRoom(r1);
        assert.equal(await s.findRoom(r1), undefined);
        assert.deepEqual(await s.listMembers(r1), []);
        assert.equal(await s.hasRoomInvite(r1, bob), false);
        assert.deepEqual(
          (await s.listRoomsOfUser(alice)).map((r) => r.id),
          ["r2"],
        );
        // A room created again under the same id starts with nobody in it.
        await s.createRoom(room("r1"));
        assert.deepEqual(await s.listMembers(r1), []);
        assert.equal(await s.hasRoomInvite(r1, bob), false);
        await s.deleteRoom(asRoomId("unknown"));
      });
    });

    describe("subscriptions", () => {
      async function withUsers(t: TestContext) {
        const s = await fresh(t);
        const [a, b, c, d] = [
          await addUser(s, "a"),
          await addUser(s, "b"),
          await addUser(s, "c"),
          await addUser(s, "d"),
        ];
        return { s, a, b, c, d };
      }

      test("subscribes once however often it is asked", async (t) => {
        const { s, a, b } = await withUsers(t);
        await s.addSubscription(a, b, T0);
        await s.addSubscription(a, b, T0 + 1);
        assert.deepEqual(await s.listSubscriptions(a), [b]);
        assert.deepEqual(await s.listSubscribers(b), [a]);
      });

      test("lists subscriptions and subscribers in each direction", async (t) => {
        const { s, a, b, c, d } = await withUsers(t);
        await s.addSubscription(a, c, T0);
        await s.addSubscription(a, b, T0);
        await s.addSubscription(d, b, T0);
        assert.deepEqual(await s.listSubscriptions(a), [b, c]);
        assert.deepEqual(await s.listSubscribers(b), [a, d]);
        assert.deepEqual(await s.listSubscriptions(b), []);
        assert.deepEqual(await s.listSubscribers(a), []);
      });

      test("unsubscribes and reports whether there was a subscription", async (t) => {
        const { s, a, b } = await withUsers(t);
        await s.addSubscription(a, b, T0);
        assert.equal(await s.removeSubscription(a, b), true);
        assert.equal(await s.removeSubscription(a, b), false);
        assert.deepEqual(await s.listSubscriptions(a), []);
      });
    });

    describe("identity resets (IDENT-4)", () => {
      test("names the room peers whose reset was marked since a time, most recent first, up to a limit", async (t) => {
        const s = await fresh(t);
        const me = await addUser(s, "me");
        const bob = await addUser(s, "bob");
        const carol = await addUser(s, "carol");
        const dave = await addUser(s, "dave");
        const erin = await addUser(s, "erin");
        const stranger = await addUser(s, "stranger");
        for (const id of ["r1", "r2", "r3"]) await s.createRoom(room(id));
        await s.addMember(asRoomId("r1"), me, "owner", T0);
        await s.addMember(asRoomId("r2"), me, "member", T0);
        for (const u of [bob, carol]) await s.addMember(asRoomId("r1"), u, "member", T0);
        await s.addMember(asRoomId("r2"), carol, "member", T0);
        await s.addMember(asRoomId("r2"), dave, "member", T0);
        await s.addMember(asRoomId("r3"), stranger, "member", T0);
        const d = s.delivery;
        for (const u of [me, bob, carol, dave, erin, stranger]) await d.bindIdentityKey(u, `IK-${u}`, T0);
        assert.deepEqual(await d.identityResetsSince(me, 0, 10), [], "a first key is no reset");

        await d.resetIdentityKey(bob, "IK-bob-2", T0 + 1);
        assert.deepEqual(await d.identityResetsSince(me, 0, 10), [], "no device under the new key yet");
        await d.markIdentityReset(bob, T0 + HOUR);
        await d.markIdentityReset(carol, T0 + 3 * HOUR);
        await d.markIdentityReset(dave, T0 + 2 * HOUR);
        await d.markIdentityReset(stranger, T0 + 4 * HOUR);
        await d.markIdentityReset(me, T0 + 4 * HOUR);
        // Carol shares two rooms with me and is named once; the stranger, erin (no room) and I
        // am never named.
        assert.deepEqual(await d.identityResetsSince(me, T0, 10), [carol, dave, bob]);
        assert.deepEqual(await d.identityResetsSince(me, T0 + 2 * HOUR, 10), [carol, dave], "at or after");
        assert.deepEqual(await d.identityResetsSince(me, T0, 2), [carol, dave]);
        assert.deepEqual(await d.identityResetsSince(me, T0 + 5 * HOUR, 10), []);
        assert.deepEqual(await d.identityResetsSince(erin, 0, 10), []);
        assert.deepEqual(await d.identityResetsSince(stranger, 0, 10), [], "alone in its room");

        // A reset again replaces the key; until its first device, only the earlier one counts.
        await d.resetIdentityKey(carol, "IK-carol-2", T0 + 5 * HOUR);
        assert.deepEqual(await d.identityResetsSince(me, T0, 10), [dave, bob]);
        // Who left every shared room is no longer named.
        await s.removeMember(asRoomId("r2"), dave);
        assert.deepEqual(await d.identityResetsSince(me, T0, 10), [bob]);
      });
    });

    describe("operations", () => {
      test("reports its dialect", async (t) => {
        const s = await fresh(t);
        assert.equal(s.dialect, harness.dialect);
      });

      test("answers a ping", async (t) => {
        const s = await fresh(t);
        await s.ping();
      });

      test("rejects a ping once closed, and closes twice without error", async () => {
        const s = await harness.create();
        await s.close();
        await s.close();
        await assert.rejects(s.ping());
      });

      test("keeps its data when closed and reopened", async (t) => {
        const s = await harness.create();
        const alice = await addUser(s, "Alice", true);
        await s.createSession({ id: asSessionId("s1"), userId: alice, createdAt: T0, expiresAt: T0 + HOUR });
        await s.insertRefreshToken({
          tokenHash: "th1",
          sessionId: asSessionId("s1"),
          createdAt: T0,
          expiresAt: T0 + HOUR,
        });
        await s.markRefreshTokenUsed("th1", T0 + 1);
        await s.createRoom(room("r1", { ownerId: alice }));
        await s.addMember(asRoomId("r1"), alice, "owner", T0);
        await s.close();

        const again = await harness.reopen(s);
        t.after(() => again.close());
        assert.equal((await again.findUserByUsername("alice"))?.isAdmin, true);
        assert.equal((await again.findSession(asSessionId("s1")))?.userId, alice);
        assert.equal((await again.findRefreshToken("th1"))?.usedAt, T0 + 1);
        assert.equal(await again.markRefreshTokenUsed("th1", T0 + 2), false);
        assert.deepEqual(await again.listMembers(asRoomId("r1")), [
          { userId: alice, role: "owner", joinedAt: T0 },
        ]);
      });
    });
  });
}
