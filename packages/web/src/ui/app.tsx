import { useEffect, useState } from "preact/hooks";
import { route } from "../state/model.js";
import { Register, SignIn, Trust } from "./auth.js";
import { LinkThisDevice } from "./link-device.js";
import { ResetPassword } from "./reset-password.js";

type ShellModule = typeof import("./shell.js");
let shell: ShellModule | undefined;
let loading: Promise<ShellModule> | undefined;

/**
 * The signed-in app is a chunk of its own, so the sign-in form's JavaScript stays small (issue
 * 20 part 4). main.tsx starts fetching it right after the first render, beside the session's
 * resumption, so a returning user waits for it no longer than before.
 */
export function loadShell(): Promise<ShellModule> {
  loading ??= import("./shell.js").then(
    (m) => {
      shell = m;
      return m;
    },
    (e: unknown) => {
      loading = undefined; // the next attempt fetches it again
      throw e;
    },
  );
  return loading;
}

function LazyShell() {
  const [state, setState] = useState<"loading" | "loaded" | "failed">(shell ? "loaded" : "loading");
  useEffect(() => {
    if (state !== "loading") return;
    loadShell().then(
      () => setState("loaded"),
      () => setState("failed"),
    );
  }, [state]);
  if (shell !== undefined) return <shell.Shell />;
  if (state !== "failed") return null;
  return (
    <section class="welcome" role="alert">
      <p>Parley could not load the rest of the app from the server.</p>
      <button type="button" class="primary" onClick={() => setState("loading")}>
        Try again
      </button>
    </section>
  );
}

export function App() {
  switch (route.value) {
    case "app":
      return <LazyShell />;
    case "register":
      return <Register />;
    case "reset":
      return <ResetPassword />;
    case "trust":
      return <Trust />;
    case "link":
      return <LinkThisDevice />;
    default:
      return <SignIn />;
  }
}
