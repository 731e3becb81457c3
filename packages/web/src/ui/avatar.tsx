/** How many avatar colours there are (`.avatar-0` … in base.css), each readable under white text. */
export const AVATAR_COLOURS = 12;

/** FNV-1a over the user id: the same person has the same colour everywhere, on every device. */
export function avatarColour(userId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    h ^= userId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % AVATAR_COLOURS;
}

/** One or two letters: the first of the first two parts of the name ("ana-lima" is "AL"). */
export function initials(name: string): string {
  const parts = name.split(/[^\p{L}\p{N}]+/u).filter((p) => p !== "");
  const letters = parts
    .slice(0, 2)
    .map((p) => [...p][0] ?? "")
    .join("");
  return (letters || [...name][0] || "?").toUpperCase();
}

/**
 * A round badge with a person's initials on their colour. Decoration only (the name is always
 * written beside it), so it is hidden from assistive technology.
 */
export function Avatar({
  userId,
  name,
  size = "md",
  room = false,
}: {
  userId: string;
  name: string;
  size?: "sm" | "md";
  /** A room's badge: a rounded square, not a circle, so rooms and people differ at a glance. */
  room?: boolean;
}) {
  return (
    <span
      class={`avatar avatar-${size} avatar-${avatarColour(userId)}${room ? " avatar-room" : ""}`}
      aria-hidden="true"
      data-testid="avatar"
      data-user-id={userId}
    >
      {initials(name)}
    </span>
  );
}
