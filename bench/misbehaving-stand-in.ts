// A misbehaving OpenAI-compatible chat-completions server on loopback (node:http alone), for
// checking that the simulated user's misbehaviour never ends up in saved data
// (bench/check-user-sim.ts, test/integration/misbehaving-user.test.ts, docs/user-sim-check.md).
//
// It tells the simulated user's requests from the assistant's (requestKind in
// misbehaving-replies.ts, one small function to adjust when the prompts change) and, in the one
// mode of the run (the bad replies are in misbehaving-replies.ts too), answers one side
// badly on the first `badAsks` asks of each follow-up (user side) or of each conversation
// history (assistant side), and well otherwise. Good replies are a plausible in-role user
// follow-up that asks something (varied by seed, temperature and messages, never one the
// conversation already got) and a plausible assistant answer. Every request is counted per
// conversation and per follow-up, so a checker can bound the asks and see what a rerun sent.
//
// A conversation is recognised by its opening (the first user message of the assistant's
// requests), which the simulated user's request also contains whatever its format (the
// system prompt quotes the original request); a follow-up by how many of that conversation's
// assistant replies the request contains. Both hold for a chat with roles flipped and for a
// transcript inside one message.
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { hashMessages } from "../src/providers/scripted-replies.js";
import type { ChatMessage } from "../src/providers/types.js";
import {
  badUserReply,
  comparable,
  goodAssistantReply,
  helperReply,
  isAssistantMode,
  isUserMode,
  type Misbehaviour,
  REFUSAL,
  requestKind,
  topicOf,
  USER_FOLLOW_UPS,
  type UserMode,
} from "./misbehaving-replies.js";
import {
  type CompletionRequest,
  type Counts,
  cannedBodies,
  completionBody,
  maxTokensOf,
  sseBody,
  tokenCount,
  toMessages,
} from "./stand-in-wire.js";

export * from "./misbehaving-replies.js";

export interface MisbehavingOptions {
  mode: Misbehaviour;
  /** Asks answered badly per follow-up (user modes) or per history (assistant modes). Default "always". */
  badAsks?: number | "always";
  host?: string;
  /** 0 (default): a free port. */
  port?: number;
  /** Conversations tracked (later ones are still answered, counted as untracked). Default 10,000. */
  maxConversations?: number;
}

export interface FollowUpCount {
  /** How many of the conversation's assistant replies the request carried (1 = first follow-up). */
  replies: number;
  /** HTTP requests for this follow-up (re-asks, conversation retries and resends alike). */
  requests: number;
  /** Distinct request bodies among them (a resend of the same body counts once). */
  distinct: number;
  /** Requests answered badly. */
  bad: number;
}

export interface ConversationCount {
  opening: string;
  userRequests: number;
  assistantRequests: number;
  /** Assistant requests answered badly. */
  assistantBad: number;
  followUps: FollowUpCount[];
}

export interface MisbehavingStats {
  mode: Misbehaviour;
  badAsks: number | "always";
  requests: number;
  userRequests: number;
  assistantRequests: number;
  /** Requests of the turn verifier, stop judge or scenario generator (always answered well). */
  helperRequests: number;
  /** Simulated-user requests whose conversation could not be recognised. */
  unattributed: number;
  badReplies: number;
  goodReplies: number;
  conversations: ConversationCount[];
}

export interface ServedReply {
  side: "user" | "assistant";
  opening: string;
  text: string;
  bad: boolean;
}

export interface MisbehavingStandIn {
  /** Base URL ending in /v1. */
  readonly url: string;
  /** Counts since the start or the last resetCounts(), per conversation and follow-up. */
  stats(): MisbehavingStats;
  /** The replies served since the last resetCounts() (bounded), for flags such as marker_stripped. */
  served(): ServedReply[];
  /** Zeroes the counts; the conversations' openings and replies stay known (for a rerun). */
  resetCounts(): void;
  close(): Promise<void>;
}

interface FollowUpState {
  requests: number;
  bodies: Set<string>;
  bad: number;
}

interface ConversationState {
  opening: string;
  topic: string;
  /** Probes (first characters) of the assistant replies served, and the replies. */
  replies: Map<string, string>;
  /** Assistant asks per request history. */
  assistantAsks: Map<string, number>;
  followUps: Map<number, FollowUpState>;
  /** Good user replies served, comparable form: never served twice. */
  goodServed: Set<string>;
  userRequests: number;
  assistantRequests: number;
  assistantBad: number;
}

const MAX_BODY = 4 * 1024 * 1024;
const MAX_SERVED = 20_000;
const PROBE_CHARS = 60;

const zeroCounters = () => ({
  requests: 0,
  userRequests: 0,
  assistantRequests: 0,
  helperRequests: 0,
  unattributed: 0,
  bad: 0,
  good: 0,
});

const sha = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 16);

function occurrences(text: string, probe: string): number {
  let n = 0;
  for (let at = text.indexOf(probe); at !== -1; at = text.indexOf(probe, at + probe.length)) n++;
  return n;
}

const probeOf = (reply: string) => reply.trim().slice(0, PROBE_CHARS);

export async function startMisbehavingStandIn(options: MisbehavingOptions): Promise<MisbehavingStandIn> {
  const mode = options.mode;
  const badAsks = options.badAsks ?? "always";
  const badLimit = badAsks === "always" ? Number.POSITIVE_INFINITY : badAsks;
  const maxConversations = options.maxConversations ?? 10_000;
  const bodies = cannedBodies(["stand-in"]);

  const conversations = new Map<string, ConversationState>();
  let served: ServedReply[] = [];
  let counters = zeroCounters();
  let sequence = 0;

  const conversationFor = (opening: string): ConversationState | undefined => {
    let state = conversations.get(opening);
    if (!state && conversations.size < maxConversations) {
      state = {
        opening,
        topic: topicOf(opening, "this"),
        replies: new Map(),
        assistantAsks: new Map(),
        followUps: new Map(),
        goodServed: new Set(),
        userRequests: 0,
        assistantRequests: 0,
        assistantBad: 0,
      };
      conversations.set(opening, state);
    }
    return state;
  };

  /** The conversation whose opening the request contains (the longest, if several do). */
  const recognise = (text: string): ConversationState | undefined => {
    let found: ConversationState | undefined;
    for (const state of conversations.values()) {
      if (text.includes(state.opening) && (!found || state.opening.length > found.opening.length))
        found = state;
    }
    return found;
  };

  const goodUser = (
    messages: readonly ChatMessage[],
    body: Record<string, unknown>,
    conversation: ConversationState | undefined,
    lastReply: string | undefined,
  ) => {
    const topics = [conversation?.topic ?? topicOf(lastReply ?? "", "this")];
    if (lastReply) topics.push(topicOf(lastReply.replace(/^About [^:]*:/, ""), topics[0] as string));
    const seedText = `${String(body.seed)}|${String(body.temperature)}|${hashMessages(messages)}`;
    const start = Number.parseInt(sha(seedText).slice(0, 8), 16);
    const n = USER_FOLLOW_UPS.length;
    for (let i = 0; i < n * topics.length; i++) {
      const template = USER_FOLLOW_UPS[(start + i) % n] as (t: string) => string;
      const text = template(topics[Math.floor(i / n)] as string);
      if (!conversation?.goodServed.has(comparable(text))) {
        conversation?.goodServed.add(comparable(text));
        return text;
      }
    }
    // Every combination already served: still a new message.
    const text = `One more thing about ${topics[0]}: what would you try next (${conversation?.goodServed.size ?? 0})?`;
    conversation?.goodServed.add(comparable(text));
    return text;
  };

  const respond = (body: Record<string, unknown>, messages: ChatMessage[]): Counts => {
    counters.requests++;
    let text: string;
    let finishReason = "stop";
    let bad = false;
    const kind = requestKind(messages);
    if (kind === "helper") {
      counters.helperRequests++;
      text = helperReply(messages);
    } else if (kind === "user") {
      counters.userRequests++;
      const joined = messages.map((m) => m.content).join("\n");
      const conversation = recognise(joined);
      let ask = 1;
      let lastReply: string | undefined;
      if (conversation) {
        conversation.userRequests++;
        let replies = 0;
        let lastAt = -1;
        for (const [probe, reply] of conversation.replies) {
          replies += occurrences(joined, probe);
          const at = joined.lastIndexOf(probe);
          if (at > lastAt) {
            lastAt = at;
            lastReply = reply;
          }
        }
        let followUp = conversation.followUps.get(replies);
        if (!followUp) {
          followUp = { requests: 0, bodies: new Set(), bad: 0 };
          conversation.followUps.set(replies, followUp);
        }
        followUp.requests++;
        const { stream: _stream, stream_options: _options, ...rest } = body;
        followUp.bodies.add(sha(JSON.stringify(rest)));
        ask = followUp.requests;
        bad = isUserMode(mode) && ask <= badLimit;
        if (bad) followUp.bad++;
      } else {
        counters.unattributed++;
        bad = isUserMode(mode);
      }
      const good = goodUser(messages, body, conversation, lastReply);
      if (bad) {
        const lead = messages[0]?.content ?? "";
        ({ text, finishReason } = badUserReply(mode as UserMode, {
          lead,
          opening: conversation?.opening,
          topic: conversation?.topic ?? "this",
          messages,
          good,
          ask,
        }));
      } else text = good;
      if (served.length < MAX_SERVED)
        served.push({ side: "user", opening: conversation?.opening ?? "", text, bad });
    } else {
      counters.assistantRequests++;
      const opening = messages.find((m) => m.role === "user")?.content ?? "";
      const conversation = conversationFor(opening);
      const history = String(hashMessages(messages));
      let ask = 1;
      if (conversation) {
        conversation.assistantRequests++;
        ask = (conversation.assistantAsks.get(history) ?? 0) + 1;
        conversation.assistantAsks.set(history, ask);
      }
      bad = isAssistantMode(mode) && ask <= badLimit;
      const good = goodAssistantReply(messages, conversation?.topic ?? "this");
      text =
        !bad || mode === "none"
          ? good
          : mode === "assistant_refuses"
            ? REFUSAL
            : mode === "assistant_empty"
              ? ""
              : `${good} ###STOP###`;
      if (conversation) {
        if (bad) conversation.assistantBad++;
        if (text.trim() !== "") conversation.replies.set(probeOf(text), text);
      }
      if (served.length < MAX_SERVED) served.push({ side: "assistant", opening, text, bad });
    }
    if (bad) counters.bad++;
    else if (kind !== "helper") counters.good++;
    const maxTokens = maxTokensOf(body);
    // The truncated mode cuts at the limit too; the huge one ignores it (see badUser).
    if (mode !== "huge" && maxTokens !== undefined && tokenCount(text) > maxTokens) {
      text = text.slice(0, maxTokens * 4);
      finishReason = "length";
    }
    let promptChars = 0;
    for (const m of messages) promptChars += m.content.length;
    return {
      text,
      finishReason,
      promptTokens: Math.ceil(promptChars / 4),
      completionTokens: tokenCount(text),
    };
  };

  const send = (res: ServerResponse, status: number, body: string, contentType = "application/json") => {
    if (res.destroyed || res.headersSent) return;
    res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
    res.end(body);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (req.method === "GET" && (path === "/v1/models" || path === "/models"))
      return send(res, 200, bodies.models);
    if (req.method !== "POST" || (path !== "/v1/chat/completions" && path !== "/chat/completions")) {
      req.resume();
      return send(res, 404, bodies.notFound);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > MAX_BODY) return send(res, 413, bodies.tooLarge);
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        return send(res, 400, bodies.badJson);
      }
      if (!body || typeof body !== "object" || Array.isArray(body)) return send(res, 400, bodies.badJson);
      const fields = body as Record<string, unknown>;
      const messages = toMessages(fields.messages);
      if (!messages) return send(res, 400, bodies.noMessages);
      const counts = respond(fields, messages);
      const request: CompletionRequest = {
        id: `req_misbehaving_${++sequence}`,
        model: typeof fields.model === "string" ? fields.model : "stand-in",
        messages,
        maxTokens: maxTokensOf(fields),
      };
      if (fields.stream === true) {
        const usage =
          (fields.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
        return send(res, 200, sseBody(request, counts, usage), "text/event-stream");
      }
      send(res, 200, completionBody(request, counts));
    });
  });
  // Bounded: a stuck client cannot hold a socket for long.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.maxConnections = 1024;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;

  return {
    url: `http://${address.address}:${address.port}/v1`,
    stats(): MisbehavingStats {
      return {
        mode,
        badAsks,
        requests: counters.requests,
        userRequests: counters.userRequests,
        assistantRequests: counters.assistantRequests,
        helperRequests: counters.helperRequests,
        unattributed: counters.unattributed,
        badReplies: counters.bad,
        goodReplies: counters.good,
        conversations: [...conversations.values()].map((c) => ({
          opening: c.opening,
          userRequests: c.userRequests,
          assistantRequests: c.assistantRequests,
          assistantBad: c.assistantBad,
          followUps: [...c.followUps].map(([replies, f]) => ({
            replies,
            requests: f.requests,
            distinct: f.bodies.size,
            bad: f.bad,
          })),
        })),
      };
    },
    served: () => [...served],
    resetCounts() {
      counters = zeroCounters();
      served = [];
      for (const c of conversations.values()) {
        c.userRequests = 0;
        c.assistantRequests = 0;
        c.assistantBad = 0;
        c.followUps.clear();
      }
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
