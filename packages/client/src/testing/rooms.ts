/** A RoomView with only what a unit test of the chat model names: id, name and kind. */
import type { RoomView } from "@parley/protocol";

export const roomView = (id: string, name: string, kind: RoomView["kind"] = "room"): RoomView => ({
  id,
  kind,
  name,
  topic: null,
  isPublic: kind === "room",
  ownerId: null,
  createdAt: 0,
});
