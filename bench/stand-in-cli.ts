// Starts the stand-in server from the command line, prints its base URL, and prints its stats as
// JSON on SIGINT/SIGTERM. For measuring the pipeline by hand, e.g.
//   node dist/bench/stand-in-cli.js --port 8089 --latency-ms 500 --latency-kind lognormal \
//     --error-rate 0.05 --rate-limit-429 0.02 --rpm 600
import { parseArgs } from "node:util";
import { startStandInServer } from "./stand-in-server.js";
import type { LatencySpec } from "./stand-in-shaping.js";

const USAGE = `usage: stand-in-cli [options]
  --host H               listen address (default 127.0.0.1)
  --port N               port (default 0: any free port)
  --latency-ms MS        latency: the fixed value, the normal mean, or the lognormal median (default 0)
  --latency-kind K       fixed | uniform | normal | lognormal (default fixed)
  --latency-min-ms MS    uniform: lower bound (default 0); upper bound is --latency-ms
  --latency-sd-ms MS     normal: standard deviation (default latency-ms / 4)
  --latency-sigma S      lognormal: sigma (default 0.5)
  --error-rate P         fraction answered 500/503
  --rate-limit-429 P     fraction answered 429 with Retry-After
  --retry-after S        Retry-After of injected 429s, seconds (default 1)
  --timeout-rate P       fraction held open without an answer
  --malformed-rate P     fraction answered with a broken body
  --rpm N                requests-per-minute cap (token bucket); over it: 429
  --burst N              token-bucket capacity (default rpm/60)
  --no-rate-limit-headers  enforce --rpm silently: no x-ratelimit-* headers, 429s say only
                         Retry-After in whole seconds (like many OpenAI-compatible gateways)
  --seed N               seed of latency and fault draws (default 0)
  --log N                keep the last N requests and print them with the stats
  --help`;

function num(values: Record<string, string | boolean | undefined>, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined || typeof raw === "boolean") return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`--${name} expects a number, got "${raw}"`);
  return value;
}

function latencyFrom(values: Record<string, string | boolean | undefined>): LatencySpec {
  const ms = num(values, "latency-ms") ?? 0;
  switch (values["latency-kind"] ?? "fixed") {
    case "fixed":
      return ms;
    case "uniform":
      return { kind: "uniform", minMs: num(values, "latency-min-ms") ?? 0, maxMs: ms };
    case "normal":
      return { kind: "normal", meanMs: ms, sdMs: num(values, "latency-sd-ms") ?? ms / 4 };
    case "lognormal":
      return { kind: "lognormal", medianMs: ms, sigma: num(values, "latency-sigma") ?? 0.5 };
    default:
      throw new Error(`--latency-kind must be fixed, uniform, normal or lognormal`);
  }
}

async function main(): Promise<void> {
  const option = { type: "string" } as const;
  const { values } = parseArgs({
    options: {
      host: option,
      port: option,
      "latency-ms": option,
      "latency-kind": option,
      "latency-min-ms": option,
      "latency-sd-ms": option,
      "latency-sigma": option,
      "error-rate": option,
      "rate-limit-429": option,
      "retry-after": option,
      "timeout-rate": option,
      "malformed-rate": option,
      rpm: option,
      burst: option,
      seed: option,
      log: option,
      "no-rate-limit-headers": { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const server = await startStandInServer({
    ...(values.host ? { host: values.host } : {}),
    port: num(values, "port") ?? 0,
    latency: latencyFrom(values),
    seed: num(values, "seed") ?? 0,
    faults: {
      serverErrorRate: num(values, "error-rate") ?? 0,
      rateLimitRate: num(values, "rate-limit-429") ?? 0,
      retryAfterSeconds: num(values, "retry-after") ?? 1,
      timeoutRate: num(values, "timeout-rate") ?? 0,
      malformedRate: num(values, "malformed-rate") ?? 0,
    },
    ...(num(values, "rpm") ? { requestsPerMinute: num(values, "rpm") } : {}),
    ...(num(values, "burst") ? { burst: num(values, "burst") } : {}),
    ...(values["no-rate-limit-headers"] ? { rateLimitHeaders: false } : {}),
    logLimit: num(values, "log") ?? 0,
  });
  console.log(server.url);
  const stop = async () => {
    console.log(JSON.stringify(server.stats, null, 2));
    await server.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  console.error(USAGE);
  process.exit(2);
});
