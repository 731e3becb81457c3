import { route } from "../state/model.js";
import { Register, SignIn, Trust } from "./auth.js";
import { LinkThisDevice } from "./link-device.js";
import { ResetPassword } from "./reset-password.js";
import { Shell } from "./shell.js";

export function App() {
  switch (route.value) {
    case "app":
      return <Shell />;
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
