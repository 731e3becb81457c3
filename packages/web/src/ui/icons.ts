/**
 * The app's icons: Lucide (ISC licence), bundled, one module per icon so only those named here
 * reach the bundle. An icon is decoration: the button around it carries the accessible name
 * (visible text or aria-label), and lucide marks the SVG aria-hidden.
 */
export {
  ArrowLeft,
  Check,
  CheckCheck,
  CircleAlert,
  Clock,
  DoorOpen,
  EllipsisVertical,
  Hash,
  LogIn,
  MessageSquarePlus,
  Search,
  SendHorizontal,
  Settings,
  ShieldCheck,
  SlidersHorizontal,
  Smile,
  UserPlus,
  Users,
} from "lucide-preact";
