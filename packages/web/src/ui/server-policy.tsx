import { describePolicy, describePolicyChange } from "@parley/client";
import { serverPolicy, serverPolicyError } from "../state/model.js";
import { acknowledgePolicy } from "../state/session.js";

/**
 * POLICY-2: the server's policy changed since this browser pinned it. Stays until the person
 * acknowledges it; a new signing key is said louder than a changed setting.
 */
export function PolicyWarning() {
  const check = serverPolicy.value;
  if (check?.state !== "changed") return null;
  return (
    <section
      class="policy-warning"
      role="alert"
      aria-label="Server policy changed"
      data-testid="policy-warning"
    >
      <h3>{check.keyChanged ? "This server's signing key changed" : "This server's policy changed"}</h3>
      {check.keyChanged && (
        <p>
          The policy is signed by a different key than before ({check.policy.keyFingerprint}, was{" "}
          {check.pinnedKeyFingerprint}). This can be another machine at this address, or the operator lost the
          server's data. Check the fingerprint with the operator before you go on.
        </p>
      )}
      {check.changes.length > 0 && (
        <ul>
          {check.changes.map((c) => (
            <li key={c.part}>{describePolicyChange(c)}</li>
          ))}
        </ul>
      )}
      <button type="button" onClick={() => void acknowledgePolicy()}>
        I understand
      </button>
    </section>
  );
}

/** POLICY-1: what this server keeps and logs, as it signed it. */
export function ServerPanel() {
  const check = serverPolicy.value;
  return (
    <section class="server-panel" aria-label="This server" data-testid="server-panel">
      <h3>This server</h3>
      {check === undefined ? (
        <p class="muted">{serverPolicyError.value ?? "Checking the server's signed policy…"}</p>
      ) : (
        <>
          <dl>
            {describePolicy(check.policy.statement).map((line) => (
              <div key={line.part}>
                <dt>{line.label}</dt>
                <dd>{line.text}</dd>
              </div>
            ))}
          </dl>
          <p class="muted small-text">
            Signed by the server's policy key, SHA-256{" "}
            <span class="fingerprint" data-testid="policy-fingerprint">
              {check.policy.keyFingerprint}
            </span>
          </p>
        </>
      )}
    </section>
  );
}
