/**
 * @parley/client: the SDK the web and terminal clients share. Pure: no node: imports, no DOM;
 * the platform injects fetch, a WebSocket constructor and a DeviceStore.
 */

export { AdminApi, type ApiCall } from "./admin.js";
export { BACKOFF_DEFAULTS, Backoff, type BackoffOptions, backoffDelay } from "./backoff.js";
export { base64ToBytes, bytesToBase64 } from "./base64.js";
export {
  EDIT_WINDOW_MS,
  EXCERPT_CHARS,
  excerpt,
  hasReacted,
  mentionParts,
  mentionsIn,
  type Quote,
  type ReactionGroup,
  reactionGroups,
} from "./chat/changes.js";
export {
  type DeliveryInfo,
  type DeviceDelivery,
  keepsNoMessages,
  waitingNote,
} from "./chat/delivery.js";
export { HISTORY_LIMIT, History, type HistoryOptions } from "./chat/history.js";
export {
  type ConversationMiss,
  deviceNotesIn,
  filesIn,
  findConversation,
  invitationsTo,
  messageInContext,
  roleIn,
  roomOf,
} from "./chat/lookup.js";
export {
  ChatModel,
  type ChatModelOptions,
  emptyChatSnapshot,
  type SendTextOptions,
  usernameKey,
} from "./chat/model.js";
export {
  type AlertInput,
  badgeCount,
  defaultNotifyLevel,
  isAlertable,
  isNotifyLevel,
  mentionsUser,
  NOTIFY_LEVELS,
  type NotifyLevel,
  notifyLevelIn,
  shouldAlert,
} from "./chat/notify.js";
export {
  DEFAULT_RETENTION,
  DISAPPEARING_SECONDS,
  describeDisappearing,
  describeRetention,
  formatRetention,
  type HistoryRetention,
  maxAgeMs,
  parseDisappearing,
  parseRetention,
  RETENTION_DAYS,
} from "./chat/retention.js";
export { roomEventLines } from "./chat/room-lines.js";
export { fold, queryWords, SEARCH_LIMIT, type SearchOptions, searchMessages } from "./chat/search.js";
export type {
  ChatAttachment,
  ChatChange,
  ChatClient,
  ChatHistory,
  ChatMessage,
  ChatRoomState,
  ChatSnapshot,
  ChatTransfer,
  DeviceNote,
  FollowedPost,
  MessageChange,
  MessageKey,
  OutgoingStatus,
  PendingChange,
  Person,
  ReactionEntry,
} from "./chat/types.js";
export {
  type CreateRoomOptions,
  type DeviceInfo,
  ParleyClient,
  type ParleyClientOptions,
  type PendingInvitation,
  type RoomSettings,
  type SafetyNumberResult,
  type SendOptions,
  type SentMessage,
  type SignInStep,
} from "./client.js";
export type { ConnectionStatus } from "./connection.js";
export {
  type Content,
  type DeleteContent,
  decodeContent,
  decodeEnvelope,
  type EditContent,
  type Envelope,
  encodeContent,
  isMessageId,
  type MessageRef,
  newMessageId,
  type ReactionContent,
  type Stamp,
  type TextContent,
} from "./content.js";
export {
  type JoinedLink,
  type LinkCode,
  linkCodeOf,
  type PendingLink,
  parseLinkCode,
} from "./device-link.js";
export { type EmitterOptions, type Listener, TypedEmitter } from "./emitter.js";
export { EncryptedStore } from "./encrypted-store.js";
export {
  type AnyErrorCode,
  CLIENT_ERRORS,
  type ClientErrorCode,
  clientAction,
  isParleyClientError,
  ParleyClientError,
} from "./errors.js";
export type {
  ClientEvents,
  DeliveryEvent,
  DeviceRemovedEvent,
  ErrorEvent,
  FollowedPostEvent,
  InvitedEvent,
  MembershipEvent,
  MessageEvent,
  PresenceEvent,
  QueueMissedEvent,
  TypingEvent,
} from "./events.js";
export {
  bytesSource,
  type FileDescriptor,
  type FileMeta,
  type FileSink,
  type FileSource,
  fileRefusal,
  PART_CHUNKS,
  THUMBNAIL_MAX_BYTES,
  type TransferOptions,
  type TransferProgress,
  WAVEFORM_MAX_SAMPLES,
} from "./files.js";
export { type DeviceAdded, type IdentityChange, KeyPins, type TrustState } from "./pins.js";
export type { FetchLike, FetchResponse, Timers, WebSocketConstructor, WebSocketLike } from "./platform.js";
export { createRecoveryCodes, recoveryCodesLeft, resetPassword } from "./recovery.js";
export { SAFETY_NUMBER_GROUPS_PER_ROW, SAFETY_NUMBER_ROWS, safetyNumberRows } from "./safety-layout.js";
export { fetchServerInfo } from "./server-info.js";
export {
  describePolicy,
  describePolicyChange,
  fetchServerPolicy,
  type PolicyChange,
  type PolicyCheck,
  type PolicyPart,
  type PolicyPinStore,
  PolicyPins,
  policyChanges,
  policyPartLabel,
  type ServerPolicyState,
  ServerPolicyWatch,
  type ServerPolicyWatchOptions,
  type VerifiedPolicy,
  verifyServerPolicy,
} from "./server-policy.js";
export { type DeviceStore, MemoryStore } from "./store.js";
export {
  TYPING_IDLE_MS,
  TYPING_REPEAT_MS,
  TYPING_SHOWN_MS,
  TypingNotifier,
  TypingRoster,
  type Typist,
} from "./typing.js";
