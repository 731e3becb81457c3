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
  Copy,
  DoorOpen,
  EllipsisVertical,
  Info,
  Lock,
  LockOpen,
  LogIn,
  LogOut,
  MessageSquarePlus,
  Mic,
  Paperclip,
  Pencil,
  Reply,
  Search,
  SendHorizontal,
  Settings,
  ShieldCheck,
  SlidersHorizontal,
  Smile,
  SmilePlus,
  Square,
  Trash2,
  UserPlus,
  Users,
  X,
} from "lucide-preact";
