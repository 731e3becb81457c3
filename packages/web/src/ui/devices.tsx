import type { DeviceInfo, JoinedLink } from "@parley/client";
import type { ComponentType } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { describeError } from "../state/errors.js";
import { me } from "../state/model.js";
import { devicesOf, linkDevice, removeDevice } from "../state/session.js";
import { formatFull } from "./format.js";

/**
 * A person's devices, as certified by their identity key (issue 14), with when each was added.
 * Devices the server lists without a valid certificate are not shown (the SDK drops them). With
 * `removable` (this person's own list), each other device can be removed, after a confirmation.
 */
export function DeviceList({
  userId,
  label,
  removable,
}: {
  userId: string;
  label: string;
  removable?: boolean;
}) {
  const [list, setList] = useState<DeviceInfo[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [confirming, setConfirming] = useState<string | undefined>();
  const [removing, setRemoving] = useState(false);
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    devicesOf(userId).then(
      (d) => setList([...d].sort((a, b) => a.createdAt - b.createdAt)),
      (e: unknown) => setError(describeError(e)),
    );
  }, [userId, generation]);
  if (list === undefined)
    return error !== undefined ? <p role="alert">{error}</p> : <p class="muted">Loading devices…</p>;
  const remove = (deviceId: string) => {
    setRemoving(true);
    setError(undefined);
    removeDevice(deviceId).then(
      () => {
        setRemoving(false);
        setConfirming(undefined);
        setGeneration(generation + 1);
      },
      (e: unknown) => {
        setRemoving(false);
        setError(describeError(e));
      },
    );
  };
  return (
    <>
      <ul class="devices" aria-label={label}>
        {list.map((d, i) => (
          <li key={d.deviceId} data-device={d.deviceId}>
            <span>
              Device {i + 1}
              {d.current ? " (this device)" : ""}
            </span>
            <span class="muted small-text">added {formatFull(d.createdAt)}</span>
            {removable === true && !d.current && confirming !== d.deviceId && (
              <button type="button" class="small" onClick={() => setConfirming(d.deviceId)}>
                Remove
              </button>
            )}
            {confirming === d.deviceId && (
              <section class="confirm-remove" aria-label={`Remove device ${i + 1}`}>
                <p>
                  Remove device {i + 1}? It is signed out at once, erases your keys and history on it, and
                  leaves every conversation. Nothing sent from now on reaches it. This cannot be undone: to
                  use it again, link it anew.
                </p>
                <div class="dialog-actions">
                  <button type="button" class="danger" disabled={removing} onClick={() => remove(d.deviceId)}>
                    {removing ? "Removing…" : "Remove this device"}
                  </button>
                  <button type="button" disabled={removing} onClick={() => setConfirming(undefined)}>
                    Keep it
                  </button>
                </div>
              </section>
            )}
          </li>
        ))}
      </ul>
      {error !== undefined && (
        <p role="alert" class="form-error">
          {error}
        </p>
      )}
    </>
  );
}

/** Settings → Devices: this person's devices, and linking a new one. */
export function DevicesSection() {
  const self = me.value;
  const [linking, setLinking] = useState(false);
  const [generation, setGeneration] = useState(0);
  if (self === undefined) return null;
  return (
    <section class="devices-section" aria-labelledby="devices-title">
      <h3 id="devices-title">Devices</h3>
      <DeviceList key={generation} userId={self.id} label="Your devices" removable />
      {linking ? (
        <LinkNewDevice
          onDone={() => {
            setLinking(false);
            setGeneration(generation + 1);
          }}
        />
      ) : (
        <div class="dialog-actions">
          <button type="button" onClick={() => setLinking(true)}>
            Link a new device
          </button>
        </div>
      )}
    </section>
  );
}

type Scanner = ComponentType<{ label: string; onCode: (text: string) => void }>;

type Step =
  | { kind: "enter"; Scanner?: Scanner }
  | { kind: "joining" }
  | { kind: "compare"; link: JoinedLink }
  | { kind: "sending" }
  | { kind: "linked" }
  | { kind: "failed"; message: string };

function joinFailure(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === "link_not_found")
    return "No new device shows that code. Check it, or start again on the new device.";
  if (code === "link_mismatch")
    return "The scanned code does not belong to the device that answered. Nothing was sent.";
  if (code === "link_invalid") return "That is not a Parley link code.";
  if (code === "link_cancelled") return "The new device cancelled the link.";
  return describeError(e);
}

/**
 * The existing device's side of linking: read the new device's QR code (or its short code),
 * show the six digits both screens must agree on, and only then send the identity key.
 */
export function LinkNewDevice({ onDone }: { onDone: () => void }) {
  const [step, setStep] = useState<Step>({ kind: "enter" });
  const [code, setCode] = useState("");
  // A joined link not confirmed yet: closing this view cancels it on both devices.
  const unconfirmed = useRef<JoinedLink | undefined>(undefined);
  useEffect(() => () => void unconfirmed.current?.cancel(), []);

  const join = (text: string) => {
    setStep({ kind: "joining" });
    linkDevice(text).then(
      (link) => {
        unconfirmed.current = link;
        setStep({ kind: "compare", link });
      },
      (e: unknown) => setStep({ kind: "failed", message: joinFailure(e) }),
    );
  };

  const scan = () => {
    import("./qr-scanner.js").then(
      (m) => setStep({ kind: "enter", Scanner: m.QrScanner }),
      (e: unknown) =>
        setStep({ kind: "failed", message: `The scanner could not be loaded: ${describeError(e)}` }),
    );
  };

  const confirm = (link: JoinedLink) => {
    unconfirmed.current = undefined;
    setStep({ kind: "sending" });
    link.confirm().then(
      () => setStep({ kind: "linked" }),
      (e: unknown) => setStep({ kind: "failed", message: joinFailure(e) }),
    );
  };

  return (
    <section class="link-new-device" aria-label="Link a new device">
      {step.kind === "enter" && (
        <>
          <p class="muted">
            On the new device, sign in and choose "Link this device". Scan the code it shows, or type its
            short code.
          </p>
          {step.Scanner !== undefined ? (
            <step.Scanner label="Camera: scan the new device's code" onCode={join} />
          ) : (
            <div class="dialog-actions">
              <button type="button" onClick={scan}>
                Scan its code
              </button>
            </div>
          )}
          <form
            class="link-code-form"
            onSubmit={(e) => {
              e.preventDefault();
              if (code.trim() !== "") join(code);
            }}
          >
            <label>
              Code shown on the new device
              <input
                value={code}
                onInput={(e) => setCode(e.currentTarget.value)}
                autoCapitalize="characters"
                autoComplete="off"
                spellcheck={false}
                placeholder="K7QFM-2XA9D"
              />
            </label>
            <button type="submit" class="primary" disabled={code.trim() === ""}>
              Link
            </button>
          </form>
        </>
      )}
      {step.kind === "joining" && <p role="status">Reaching the new device…</p>}
      {step.kind === "compare" && (
        <>
          <p>
            The new device shows six digits. Link only if they are the same as these: it will read your new
            conversations and send as you.
          </p>
          <p class="link-sas" data-testid="link-sas">
            {step.link.sas}
          </p>
        </>
      )}
      {step.kind === "sending" && <p role="status">Sending your identity to the new device…</p>}
      {step.kind === "linked" && (
        <p role="status" class="trust-verified">
          Linked. Confirm on the new device if it still asks.
        </p>
      )}
      {step.kind === "failed" && (
        <p role="alert" class="form-error">
          {step.message}
        </p>
      )}
      <div class="dialog-actions">
        {step.kind === "compare" && (
          <button type="button" class="primary" onClick={() => confirm(step.link)}>
            The digits match
          </button>
        )}
        {step.kind === "failed" && (
          <button type="button" onClick={() => setStep({ kind: "enter" })}>
            Try again
          </button>
        )}
        <button
          type="button"
          onClick={() => {
            void unconfirmed.current?.cancel();
            unconfirmed.current = undefined;
            onDone();
          }}
        >
          {step.kind === "linked" ? "Done" : "Cancel"}
        </button>
      </div>
    </section>
  );
}
