import assert from "node:assert/strict";
import { test } from "node:test";
import type { TSchema } from "typebox";
import { Check } from "typebox/value";
import { DeviceIdSchema, PasswordInput, RequestId, UserIdSchema, UsernameInput } from "./common.js";
import {
  AuthFrame,
  DeviceRegisterFrame,
  MlsCommitFrame,
  PresenceBatchFrame,
  RoomCreateFrame,
} from "./frames.js";
import { RefreshRequest, RegisterRequest } from "./http.js";
import * as L from "./limits.js";

/** `make(n)` with n at the limit passes the schema, and with n one over it fails. */
function holdsAt(schema: TSchema, limit: number, make: (n: number) => unknown): void {
  assert.equal(Check(schema, make(limit)), true, `at ${limit}`);
  assert.equal(Check(schema, make(limit + 1)), false, `at ${limit + 1}`);
}

test("the schemas enforce the named string limits, no more and no less", () => {
  holdsAt(RequestId, L.REQUEST_ID_MAX_LENGTH, (n) => "r".repeat(n));
  holdsAt(UserIdSchema, L.USER_ID_MAX_LENGTH, (n) => "u".repeat(n));
  holdsAt(DeviceIdSchema, L.DEVICE_ID_MAX_LENGTH, (n) => "d".repeat(n));
  holdsAt(UsernameInput, L.USERNAME_INPUT_MAX_LENGTH, (n) => "n".repeat(n));
  holdsAt(PasswordInput, L.PASSWORD_INPUT_MAX_LENGTH, (n) => "p".repeat(n));
  holdsAt(RefreshRequest, L.REFRESH_TOKEN_MAX_LENGTH, (n) => ({ refreshToken: "t".repeat(n) }));
  holdsAt(RegisterRequest, L.INVITE_CODE_MAX_LENGTH, (n) => ({
    username: "alice",
    password: "x",
    inviteCode: "i".repeat(n),
  }));
  holdsAt(AuthFrame, L.ACCESS_TOKEN_MAX_LENGTH, (n) => ({
    type: "auth",
    token: "t".repeat(n),
    protocolVersion: 1,
  }));
  holdsAt(RoomCreateFrame, L.ROOM_NAME_MAX_LENGTH, (n) => ({ type: "room.create", name: "n".repeat(n) }));
  holdsAt(RoomCreateFrame, L.ROOM_TOPIC_MAX_LENGTH, (n) => ({
    type: "room.create",
    name: "n",
    topic: "t".repeat(n),
  }));
});

test("the schemas enforce the named count limits", () => {
  holdsAt(DeviceRegisterFrame, L.KEY_PACKAGES_PER_UPLOAD_MAX, (n) => ({
    type: "device.register",
    deviceId: "phone",
    signatureKey: "AA==",
    keyPackages: Array.from({ length: n }, () => "AA=="),
    lastResort: "AA==",
  }));
  const device = { userId: "u", deviceId: "d" };
  holdsAt(MlsCommitFrame, L.COMMIT_DEVICES_MAX, (n) => ({
    type: "mls.commit",
    roomId: "ABC234",
    epoch: 0,
    commit: "AA==",
    groupInfo: "AA==",
    addDevices: Array.from({ length: n }, () => device),
  }));
  const user = { userId: "u", username: "n", online: true };
  holdsAt(PresenceBatchFrame, L.PRESENCE_BATCH_MAX, (n) => ({
    type: "presence.batch",
    users: Array.from({ length: n }, () => user),
  }));
});

test("the limits are consistent with each other", () => {
  assert.ok(L.USERNAME_MIN_LENGTH >= 1 && L.USERNAME_MIN_LENGTH <= L.USERNAME_MAX_LENGTH);
  assert.ok(L.USERNAME_MAX_LENGTH <= L.USERNAME_INPUT_MAX_LENGTH, "a valid username fits the input schema");
  assert.ok(L.INVITE_TTL_HOURS_DEFAULT >= 1 && L.INVITE_TTL_HOURS_DEFAULT <= L.INVITE_TTL_HOURS_MAX);
  assert.ok(
    L.DEFAULT_MAX_FRAME_BYTES > L.ACCESS_TOKEN_MAX_LENGTH,
    "an auth frame fits the default frame size",
  );
});
