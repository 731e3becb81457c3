import type { ComponentChildren, InputHTMLAttributes } from "preact";
import { useRef, useState } from "preact/hooks";
import { describeError } from "../state/errors.js";
import { Check, Circle, CircleAlert, Eye, EyeOff, Info, LoaderCircle } from "./icons.js";

/** A refusal the form itself finds (the two passwords differ): shown as it is, not described. */
export class FormProblem extends Error {}

export interface FormAction {
  readonly busy: boolean;
  readonly error: string | undefined;
  readonly onSubmit: (e: Event) => void;
}

/**
 * A form's submission: one at a time (a second Enter or click while the first is on its way is
 * dropped before the button has re-rendered disabled), the busy flag for the button, and the
 * error of the last attempt. Busy ends however it ends, so a form that stays (a sign-in that
 * goes on to its second step and back) is never left disabled.
 */
export function useFormAction(run: (form: HTMLFormElement) => Promise<void>): FormAction {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const running = useRef(false);
  const onSubmit = (e: Event) => {
    e.preventDefault();
    if (running.current) return;
    running.current = true;
    setBusy(true);
    setError(undefined);
    run(e.currentTarget as HTMLFormElement)
      .catch((err: unknown) => setError(err instanceof FormProblem ? err.message : describeError(err)))
      .finally(() => {
        running.current = false;
        setBusy(false);
      });
  };
  return { busy, error, onSubmit };
}

/**
 * The form's line for what went wrong. Its space is kept while empty, so the form does not move
 * when an error arrives; role="alert" is on the message itself, announced as it appears.
 */
export function FormError({ error }: { error: string | undefined }) {
  return (
    <div class="form-message">
      {error !== undefined && (
        <p role="alert" class="form-error">
          <CircleAlert />
          <span>{error}</span>
        </p>
      )}
    </div>
  );
}

/** The form's main action: disabled with a spinner and `busyLabel` while it runs. */
export function SubmitButton({
  busy,
  label,
  busyLabel,
  danger = false,
}: {
  busy: boolean;
  label: string;
  busyLabel: string;
  danger?: boolean;
}) {
  return (
    <button type="submit" class={`${danger ? "danger" : "primary"} submit`} disabled={busy}>
      {busy && <LoaderCircle class="spin" />}
      <span>{busy ? busyLabel : label}</span>
    </button>
  );
}

/**
 * A password input with a show/hide toggle. The toggle sits outside the <label>, so the field's
 * accessible name stays exactly the label's text, and after the input in tab order.
 */
export function PasswordField({
  label,
  ...input
}: { label: string } & Omit<InputHTMLAttributes<HTMLInputElement>, "type">) {
  const [shown, setShown] = useState(false);
  return (
    <div class="password-field">
      <label>
        {label}
        <input {...input} type={shown ? "text" : "password"} spellcheck={false} autoCapitalize="none" />
      </label>
      <button
        type="button"
        class="reveal"
        aria-label={`Show ${label.toLowerCase()}`}
        aria-pressed={shown}
        onClick={() => setShown(!shown)}
      >
        {shown ? <EyeOff /> : <Eye />}
      </button>
    </div>
  );
}

/** One line of the password rules: a check when met, an empty circle when not. */
export function RuleItem({ met, children }: { met: boolean; children: ComponentChildren }) {
  return (
    <li data-met={String(met)}>
      {met ? <Check /> : <Circle />}
      <span>
        <span class="sr-only">{met ? "Met: " : "Not met yet: "}</span>
        {children}
      </span>
    </li>
  );
}

/** A note above a form (a changed password, an ended session). */
export function FormNotice({ children, testId }: { children: ComponentChildren; testId?: string }) {
  return (
    <p role="status" class="form-notice" data-testid={testId}>
      <Info />
      <span>{children}</span>
    </p>
  );
}
