import type { MlsSuite } from "@parley/protocol";
import { useEffect, useState } from "preact/hooks";
import { roomSuite } from "../state/session.js";

/** How a conversation's MLS cipher suite (docs/PROTOCOL.md MLS-9) reads in its security details. */
export const SUITE_LABELS: Record<MlsSuite, string> = {
  xwing: "Post-quantum: X-Wing (ML-KEM-768 + X25519)",
  x25519: "X25519",
};

/**
 * The key exchange protecting this conversation's group: post-quantum or not. A group keeps
 * the suite it was made in, so this is the group's, not the server's current setting.
 */
export function SuiteLabel({ roomId, members = 0 }: { roomId: string; members?: number }) {
  const [suite, setSuite] = useState<MlsSuite | undefined>();
  useEffect(() => {
    let live = true;
    roomSuite(roomId).then(
      (s) => live && setSuite(s),
      () => live && setSuite(undefined),
    );
    return () => {
      live = false;
    };
    // Read again when the member list changes: a device that just joined has its group by then.
  }, [roomId, members]);
  if (suite === undefined) return null;
  return (
    <p class={`suite suite-${suite}`} data-testid="mls-suite" data-suite={suite}>
      Key exchange: {SUITE_LABELS[suite]}
    </p>
  );
}
