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
  loading ??= import("./shell.js").then((m) => {
    shell = m;
    return m;
  });
  return loading;
}

function LazyShell() {
  const [, setLoaded] = useState(shell !== undefined);
  useEffect(() => {
    if (shell === undefined) void loadShell().then(() => setLoaded(true));
  }, []);
  return shell === undefined ? null : <shell.Shell />;
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
