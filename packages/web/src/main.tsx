import { effect } from "@preact/signals";
import { render } from "preact";
import "./styles/emoji-font.css";
import "./styles/base.css";
import { me, pendingInvite, route } from "./state/model.js";
import { inviteFromHash, routeFromHash } from "./state/routes.js";
import { loadServerInfo, resumeLastSession } from "./state/session.js";
import { App, loadShell } from "./ui/app.js";
import { startTheme } from "./ui/theme.js";

startTheme();
const root = document.getElementById("app");
if (root === null) throw new Error("#app is missing from index.html");

const follow = () => {
  // Issue 19: an invite link opens the registration form with its code filled in, and the
  // code leaves the address bar (and so the history) at once.
  const invite = inviteFromHash(location.hash);
  if (invite !== undefined) {
    pendingInvite.value = invite;
    history.replaceState(null, "", "#/register");
  }
  route.value = routeFromHash(location.hash, me.value !== undefined);
};
addEventListener("hashchange", follow);
follow();
// Signing in or out moves the page to the app or back to the sign-in form.
effect(() => {
  const signedIn = me.value !== undefined;
  const wanted = signedIn
    ? "#/app"
    : route.value === "signin" && location.hash === "#/app"
      ? "#/signin"
      : undefined;
  if (wanted !== undefined && location.hash !== wanted && !(signedIn && location.hash === "#/trust")) {
    history.replaceState(null, "", wanted);
  }
});

render(<App />, root);
void loadShell();
void loadServerInfo();
void resumeLastSession().then((resumed) => {
  if (!resumed) follow();
});
