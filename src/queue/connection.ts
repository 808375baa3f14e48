// Where the queue lives: a redis://HOST:PORT[/DB] URL, checked up front. An unreachable Redis is
// bad input (exit 2, one line), found with one short probe before the run makes any call.
import { Redis, type RedisOptions } from "ioredis";
import { InputError } from "../config/errors.js";

/** How long the probe waits for Redis before the run gives up on it. */
const PROBE_TIMEOUT_MS = 3000;

export interface QueueConnection {
  /** The URL as given, for messages (a password in it is never printed: see describe()). */
  readonly url: string;
  /** Options BullMQ and ioredis take: host, port, db, password. */
  readonly options: RedisOptions;
}

/** redis://[user:password@]host:port[/db] or rediss://…; anything else is an InputError. */
export function parseQueueUrl(url: string): QueueConnection {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badUrl(url, "not a URL");
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") throw badUrl(url, "not redis://");
  const db = parsed.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d+$/.test(db)) throw badUrl(url, "the database after / must be a number");
  const options: RedisOptions = {
    host: parsed.hostname || "127.0.0.1",
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(db !== "" ? { db: Number(db) } : {}),
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === "rediss:" ? { tls: {} } : {}),
  };
  return { url, options };
}

function badUrl(url: string, why: string): InputError {
  return new InputError({
    field: "--queue",
    message: `${describeUrl(url)}: ${why}`,
    hint: "give redis://HOST:PORT[/DB]",
  });
}

/** The URL without its password, for messages. */
export function describeUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
}

/** A client for BullMQ: it retries commands forever (BullMQ requires maxRetriesPerRequest null). */
export function redisClient(connection: QueueConnection): Redis {
  return new Redis({ ...connection.options, maxRetriesPerRequest: null });
}

/** One PING with a short timeout and no retries: an InputError naming the URL when Redis is not there. */
export async function probeRedis(connection: QueueConnection): Promise<void> {
  const probe = new Redis({
    ...connection.options,
    lazyConnect: true,
    connectTimeout: PROBE_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null, // fail at the first refusal instead of reconnecting
  });
  // The socket's own error (ECONNREFUSED, ENOTFOUND) says more than connect()'s "Connection is closed".
  let cause: unknown;
  probe.on("error", (error) => {
    cause ??= error;
  });
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    const why = cause ?? error;
    throw new InputError({
      field: "--queue",
      message: `cannot reach Redis at ${describeUrl(connection.url)} (${why instanceof Error ? why.message : String(why)}); start redis-server there or fix the URL`,
    });
  } finally {
    probe.disconnect();
  }
}
