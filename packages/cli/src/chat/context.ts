/** What every `parley chat` command may use: the screen, the open conversation, the signed-in client and model, and one way to ask, print and refuse. */
import {
  type ChatModel,
  type HistoryRetention,
  isParleyClientError,
  type ParleyClient,
  type PolicyCheck,
} from "@parley/client";
import type { InfoResponse, RoomView, UserView } from "@parley/protocol";
import type { ChatControllerOptions } from "./controller.js";
import type { MessageNumbers } from "./numbers.js";
import type { OwnMessages } from "./own-messages.js";
import type { ChatView } from "./render.js";
import type { Screen } from "./screen.js";
import type { ChatState, UserRef } from "./state.js";

/** A refusal the user caused and can fix; shown as one line, never fatal. */
export class ChatError extends Error {}

/** Why something failed, in words: the registry's message and code. */
export function reason(e: unknown): string {
  return isParleyClientError(e) ? `${e.message} (${e.code})` : e instanceof Error ? e.message : String(e);
}

/** Whether an answer to a "[y/N]" question is yes. */
export function isYes(answer: string | undefined): boolean {
  return answer !== undefined && /^\s*y(es)?\s*$/i.test(answer);
}

/** The text "not signed in" refusals carry. */
export const NOT_SIGNED_IN = "not signed in: /login <user> or /register <user>";

/**
 * The controller as the command modules see it. Commands run one at a time, in order, so a
 * question (a password, "verified?") takes the next line; what a command changes here (the
 * directory page, the pinned policy) is what the next command sees.
 */
export interface ChatContext {
  readonly options: ChatControllerOptions;
  readonly screen: Screen;
  readonly state: ChatState;
  readonly view: ChatView;
  /** This session's message numbers ("#7"), new on every sign-in. */
  readonly numbers: MessageNumbers;
  /** This session's own messages, for `/info`. */
  readonly own: OwnMessages;
  now(): number;

  notice(text: string): void;
  warn(text: string): void;
  /** A secret answer (not echoed); refuses with `missing` when none is given. */
  secret(question: string, missing?: string): Promise<string>;
  /** Asks a "[y/N]" question; true for yes. */
  confirm(question: string): Promise<boolean>;

  /** The signed-in user's chat model, if anyone is signed in. */
  readonly model: ChatModel | undefined;
  /** Redraws the prompt (transfers, the open conversation, who is typing). */
  updatePrompt(): void;
  /** The signed-in client; refuses when no one is signed in. */
  need(): ParleyClient;
  /** The signed-in user's chat model; refuses when no one is signed in. */
  chat(): ChatModel;
  me(): UserRef;
  /** The open conversation; refuses when none is open. */
  currentRoom(): RoomView;
  /** A user by name; refuses when there is none. */
  user(name: string): Promise<UserRef>;

  /** Runs an upload or download after the command returns; /quit waits for it. */
  background(work: Promise<void>): void;
  /** GET /api/info, read once; undefined when it cannot be read. */
  serverInfo(): Promise<InfoResponse | undefined>;
  /** The server's password policy, or undefined when it cannot be read. */
  passwordPolicy(): Promise<InfoResponse["passwordPolicy"] | undefined>;

  /** Signs out whoever is signed in, then signs in with `how` and connects. */
  signIn(username: string, how: (client: ParleyClient) => Promise<UserView>): Promise<void>;
  /** Closes the client and model, flushing the history (the user's device state stays). */
  closeClient(): Promise<void>;
  /** The history setting of the signed-in user: how long this device keeps messages. */
  readonly retention: HistoryRetention;
  /** Keeps a new history setting and applies it to the model and the kept history. */
  setRetention(next: HistoryRetention): Promise<void>;

  /** Where `/more` goes on in the directory. */
  directoryPage: { query: string | undefined; next: string } | undefined;
  /** POLICY-2: the last check of the server's signed policy against its pin. */
  policy: PolicyCheck | undefined;
}
