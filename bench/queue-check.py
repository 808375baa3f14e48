#!/usr/bin/env python3
"""Issue 14's done-when, measured from the outside against the built CLI (./bin/convosim).

Plain Python, sharing no code with convosim or its tests (it borrows only hostile-check's reply
texts). It starts a real `redis-server` on a free loopback port (Debian's; default persistence,
in a temp folder) and its own OpenAI-compatible stand-in that enforces 3,000 requests a minute
(a token bucket of 50 a second, 25 deep; beyond it: 429 with Retry-After 1 and no rate-limit
headers), answers in 0.2–0.4 s, and counts every request, every 429 and each conversation's
opening call. Then, as a user would, it runs a coordinator (`generate --queue`) and workers
(`worker --queue --concurrency 50`) as separate processes and checks:

  capped        3 workers, rate_limit rpm 3000: 300 three-turn conversations saved exactly once
                in the reference's format, < 1 % of requests answered 429, wall ≤ 1.3 × the cap's bound
  worker_kill   a worker killed with -9 mid-run and another started: nothing lost or doubled; how
                many conversations were paid twice (at most the killed worker's in flight)
  coord_kill    the coordinator killed with -9 mid-run and rerun: completes, no duplicates
  no_key        a worker without the key variable: exit 2, one line naming it
  throughput    600 conversations, no cap, 0.2 s replies: queue (coordinator + 3 workers × 50)
                against in-process (max_workers 150), medians of 3 alternating runs: ≥ 80 %
  memory        100,000 tasks pending (a coordinator, no worker): Redis used_memory < 50 MB

    npm run build && python3 bench/queue-check.py            # all cases
    python3 bench/queue-check.py capped memory               # some of them

Exit status 1 when a case fails.
"""
from __future__ import annotations

import importlib.util
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("hostile_check", HERE / "hostile-check.py")
hc = importlib.util.module_from_spec(spec)
assert spec.loader is not None
spec.loader.exec_module(hc)

CLI = hc.CLI
KEY_VAR = "QUEUE_CHECK_KEY"
WORK = Path(tempfile.mkdtemp(prefix="queue-check-"))
ENV = {**os.environ, KEY_VAR: "sk-queue-check-not-a-real-key", "NO_COLOR": "1",
       "CONVOSIM_QUEUE_STALLED_MS": "10000"}
RPM = 3000
REFERENCE_KEYS = {"interaction_id", "persona_id", "persona_features", "original_query", "initial_query",
                  "messages", "num_turns", "metadata"}

# ───────────────────────────── the capped stand-in ─────────────────────────────


class Counts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset(capped=True)

    def reset(self, *, capped: bool, latency: tuple[float, float] = (0.2, 0.4)) -> None:
        with getattr(self, "lock", threading.Lock()):
            self.capped = capped
            self.latency = latency
            self.requests = 0
            self.refused = 0
            self.openings: dict[str, int] = {}
            self.first_at: float | None = None
            self.last_at = 0.0
            self.tokens = 25.0
            self.refilled = time.monotonic()

    def admit(self) -> bool:
        """One request: True when under the cap (a token bucket of RPM/60 a second, 25 deep)."""
        with self.lock:
            now = time.monotonic()
            self.requests += 1
            self.first_at = self.first_at or now
            self.last_at = now
            if not self.capped:
                return True
            self.tokens = min(25.0, self.tokens + (now - self.refilled) * RPM / 60)
            self.refilled = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            self.refused += 1
            return False

    def opening(self, text: str) -> None:
        with self.lock:
            self.openings[text] = self.openings.get(text, 0) + 1


COUNTS = Counts()


class Handler(hc.Handler):
    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length", "0")))
        try:
            request = json.loads(raw)
        except ValueError:
            request = {}
        messages = request.get("messages", [])
        if not COUNTS.admit():
            self.send_json(429, {"error": {"message": "rate limit", "type": "rate_limit"}}, {"retry-after": "1"})
            return
        user = hc.is_user_request(messages)
        if not user and sum(1 for m in messages if m.get("role") == "user") == 1:
            COUNTS.opening(hc.opening_of(messages))  # the conversation's first assistant call
        time.sleep(random.uniform(*COUNTS.latency))
        n = COUNTS.requests
        text = reply(messages, n)
        body = {
            "id": f"q{n}", "object": "chat.completion", "created": 0, "model": request.get("model", "m"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 60, "completion_tokens": 30, "total_tokens": 90},
        }
        self.send_json(200, body)


def reply(messages: list[dict], n: int) -> str:
    """The assistant's answer; the simulated user's follow-up until three answers are in, then its stop."""
    if not hc.is_user_request(messages):
        return hc.reply_text("ok", messages, n)
    if json.dumps(messages).count("Here is what to do.") < 3:
        rng = random.Random(n)
        return rng.choice(hc.ASKS).format(t=rng.choice(hc.TOPICS), n=rng.randint(1, 9))
    return "Thanks, that solves it. ###STOP###"


def start_stand_in() -> str:
    server = hc.QuietServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 512
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


# ───────────────────────────── Redis and processes ─────────────────────────────


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="redis-", dir=WORK)
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--dir", self.dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while self.cli("PING") != "PONG":
            if time.time() > deadline:
                raise SystemExit("redis-server did not start (installed? sh scripts/setup-redis.sh)")
            time.sleep(0.05)
        self.url = f"redis://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        p = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True)
        return p.stdout.strip()

    def info(self, section: str) -> dict[str, str]:
        return dict(line.split(":", 1) for line in self.cli("INFO", section).splitlines() if ":" in line)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def config(base_url: str, *, rate_limit: bool, workers: int = 150) -> Path:
    limit = f"\n    rate_limit: {{ rpm: {RPM} }}" if rate_limit else ""
    model = (f"\n    provider: openai\n    model: stand-in\n    base_url: {base_url}\n"
             f"    api_key_env: {KEY_VAR}{limit}")
    path = WORK / f"config-{'capped' if rate_limit else 'free'}-{workers}.yaml"
    path.write_text(f"interaction_generation:\n  min_turns: 3\n  max_turns: 3\n  max_workers: {workers}\n"
                    f"  retry_delay: 0\n  assistant_model:{model}\n  user_model:{model}\n")
    return path


def personas(n: int) -> Path:
    path = WORK / f"personas-{n}.jsonl"
    if not path.exists():
        with path.open("w") as f:
            for i in range(n):
                f.write(json.dumps({"persona_id": f"p{i:06d}", "persona_features": {
                    "role": "accountant", "tech_proficiency": "low", "communication_style": "terse"},
                    "queries": [{"query_id": "q1", "original_query": f"How do I reconcile ledger {i}?"}]}) + "\n")
    return path


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env or ENV)


def drain(p: subprocess.Popen) -> None:
    """Keeps a process's stderr lines in p.lines (read on a thread, so the pipe never fills)."""
    p.lines = []  # type: ignore[attr-defined]
    threading.Thread(target=lambda: [p.lines.append(line) for line in p.stderr], daemon=True).start()  # type: ignore[attr-defined]


def workers(url: str, count: int, concurrency: int) -> list[subprocess.Popen]:
    """Workers started and ready (each says it waits for a run), as a cluster would be before a run."""
    pool = [start(["worker", "--queue", url, "--no-cache", "--concurrency", str(concurrency)]) for _ in range(count)]
    for p in pool:
        drain(p)
    if not wait_for(lambda: all(any("waiting for a run" in line for line in p.lines) for p in pool), 60):
        raise RuntimeError(f"workers not ready: {[p.lines[-1:] for p in pool]}")
    return pool


def stop_all(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()


def saved(out: Path) -> list[Path]:
    return sorted((out / "interactions").glob("*.json")) if (out / "interactions").exists() else []


def check_saved_once(out: Path, count: int) -> str | None:
    """None when `count` interactions are saved once each in the reference's format; else why not."""
    files = saved(out)
    if len(files) != count:
        failures = out / "failures.ndjson"
        first = failures.read_text().splitlines()[:1] if failures.exists() else []
        reason = json.loads(first[0]).get("reason", "")[:200] if first else ""
        return f"{len(files)} files, wanted {count}" + (f" (first failure: {reason})" if reason else "")
    index = json.loads((out / "index.json").read_text())
    ids = [e["interaction_id"] for e in index.get("interactions", [])]
    if len(ids) != count or len(set(ids)) != count:
        return f"index.json lists {len(ids)} ({len(set(ids))} distinct), wanted {count}"
    for f in files:
        record = json.loads(f.read_text())
        missing = REFERENCE_KEYS - record.keys()
        if missing:
            return f"{f.name} lacks {sorted(missing)}"
        if f.name != f"{record['interaction_id']}.json" or record["num_turns"] != 3:
            return f"{f.name}: id {record['interaction_id']}, {record['num_turns']} turns"
        roles = [m["role"] for m in record["messages"]]
        if roles[:6] != ["user", "assistant"] * 3:
            return f"{f.name}: roles {roles}"
    return None


RESULTS: list[tuple[str, bool, str]] = []


def record(name: str, ok: bool, detail: str) -> None:
    RESULTS.append((name, ok, detail))
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}", flush=True)


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


# ───────────────────────────── cases ─────────────────────────────


def case_capped(base: str) -> None:
    redis = RedisServer()
    COUNTS.reset(capped=True)
    out = WORK / "capped"
    pool = workers(redis.url, 3, 50)
    t0 = time.monotonic()
    coord = subprocess.run([CLI, "generate", "-c", str(config(base, rate_limit=True)), "-p", str(personas(300)),
                            "-o", str(out), "--queue", redis.url, "--no-cache", "-q"],
                           capture_output=True, text=True, env=ENV, timeout=600)
    wall = time.monotonic() - t0
    span = COUNTS.last_at - (COUNTS.first_at or COUNTS.last_at)
    lead = (COUNTS.first_at or t0) - t0
    stop_all(pool)
    redis.stop()
    bound = COUNTS.requests / (RPM / 60)
    share = COUNTS.refused / max(1, COUNTS.requests)
    why = check_saved_once(out, 300)
    ok = coord.returncode == 0 and why is None and share < 0.01 and wall <= 1.3 * bound
    record("capped: 300 conversations, 3 workers × 50, rpm 3000", ok,
           f"exit {coord.returncode}; {why or '300 saved once, reference format'}; {COUNTS.requests} requests, "
           f"{COUNTS.refused} answered 429 ({share:.2%}); wall {wall:.1f} s vs the cap's bound {bound:.1f} s "
           f"({wall / bound:.2f}×; first request after {lead:.1f} s, requests over {span:.1f} s, "
           f"load {os.getloadavg()[0]:.1f}){'' if coord.returncode == 0 else '; ' + coord.stderr[-300:]}")


def case_worker_kill(base: str) -> None:
    redis = RedisServer()
    COUNTS.reset(capped=True)
    out = WORK / "worker-kill"
    pool = workers(redis.url, 3, 50)
    coord = start(["generate", "-c", str(config(base, rate_limit=True)), "-p", str(personas(300)), "-o", str(out),
                   "--queue", redis.url, "--no-cache", "-q"])
    wait_for(lambda: COUNTS.requests >= 500, 120)
    in_flight_at_kill = len([o for o in COUNTS.openings]) - len(saved(out))
    pool[0].kill()  # -9
    pool.append(start(["worker", "--queue", redis.url, "--no-cache", "--concurrency", "50"]))
    try:
        coord.wait(600)
    except subprocess.TimeoutExpired:
        coord.kill()
    stop_all(pool[1:])
    redis.stop()
    why = check_saved_once(out, 300)
    twice = sum(1 for n in COUNTS.openings.values() if n > 1)
    ok = coord.returncode == 0 and why is None and twice <= 50
    record("worker_kill: one worker kill -9 mid-run, another started", ok,
           f"exit {coord.returncode}; {why or '300 saved once'}; {twice} conversations paid twice "
           f"(≤ 50, the killed worker's share; {in_flight_at_kill} started and unsaved cluster-wide at the kill); "
           f"stall interval 10 s (CONVOSIM_QUEUE_STALLED_MS)")


def case_coordinator_kill(base: str) -> None:
    redis = RedisServer()
    COUNTS.reset(capped=True)
    out = WORK / "coord-kill"
    pool = workers(redis.url, 3, 50)
    args = ["generate", "-c", str(config(base, rate_limit=True)), "-p", str(personas(300)), "-o", str(out),
            "--queue", redis.url, "--no-cache"]
    coord = start(args)
    wait_for(lambda: len(saved(out)) >= 60, 120)
    coord.kill()  # -9
    coord.wait()
    before = len(saved(out))
    rerun = subprocess.run([CLI, *args], capture_output=True, text=True, env=ENV, timeout=600)
    stop_all(pool)
    redis.stop()
    why = check_saved_once(out, 300)
    summary = [line for line in rerun.stderr.splitlines() if " done, " in line]
    ok = rerun.returncode == 0 and why is None
    record("coord_kill: coordinator kill -9 mid-run, rerun", ok,
           f"{before} saved at the kill; rerun exit {rerun.returncode}: {summary[-1] if summary else rerun.stderr[-200:]}; "
           f"{why or '300 saved once'}")


def case_no_key(base: str) -> None:
    redis = RedisServer()
    COUNTS.reset(capped=False)
    out = WORK / "no-key"
    coord = start(["generate", "-c", str(config(base, rate_limit=True)), "-p", str(personas(10)), "-o", str(out),
                   "--queue", redis.url, "--no-cache", "-q"])
    wait_for(lambda: redis.cli("EXISTS", "convosim:run:config") == "1", 30)
    env = {k: v for k, v in ENV.items() if k != KEY_VAR}
    p = subprocess.run([CLI, "worker", "--queue", redis.url], capture_output=True, text=True, env=env, timeout=60)
    coord.send_signal(signal.SIGTERM)
    coord.wait(30)
    redis.stop()
    lines = p.stderr.strip().splitlines()
    ok = p.returncode == 2 and len(lines) == 1 and KEY_VAR in p.stderr and " at " not in p.stderr
    record("no_key: worker without the key variable", ok, f"exit {p.returncode}: {p.stderr.strip()[:200]}")


def timed_run(args: list[str], pool_size: int, redis: RedisServer | None) -> float:
    pool = workers(redis.url, pool_size, 150 // pool_size) if redis else []
    COUNTS.reset(capped=False, latency=COUNTS.latency)
    t0 = time.monotonic()
    p = subprocess.run([CLI, *args], capture_output=True, text=True, env=ENV, timeout=600)
    wall = time.monotonic() - t0
    if os.environ.get("QUEUE_CHECK_VERBOSE"):
        print(f"    {'queue' if redis else 'local'}: wall {wall:.1f} s, first request at "
              f"{(COUNTS.first_at or t0) - t0:.1f} s, requests over {COUNTS.last_at - (COUNTS.first_at or 0):.1f} s")
    stop_all(pool)
    if p.returncode != 0:
        raise RuntimeError(f"{args[:2]} exit {p.returncode}: {p.stderr[-300:]}")
    return wall


def case_throughput(base: str) -> None:
    COUNTS.reset(capped=False, latency=(0.2, 0.2))
    cfg = str(config(base, rate_limit=False))
    people = str(personas(600))
    local: list[float] = []
    queued: list[float] = []
    for r in range(3):
        out = WORK / f"tp-local-{r}"
        local.append(timed_run(["generate", "-c", cfg, "-p", people, "-o", str(out), "--no-cache", "-q"], 0, None))
        redis = RedisServer()
        out = WORK / f"tp-queue-{r}"
        queued.append(timed_run(["generate", "-c", cfg, "-p", people, "-o", str(out), "--queue", redis.url,
                                 "--no-cache", "-q"], 3, redis))
        redis.stop()
    ratio = statistics.median(local) / statistics.median(queued)
    record("throughput: queue (3 workers × 50) vs in-process (max_workers 150), 600 conversations", ratio >= 0.8,
           f"in-process {statistics.median(local):.1f} s {[round(x, 1) for x in local]}, queue "
           f"{statistics.median(queued):.1f} s {[round(x, 1) for x in queued]} → {ratio:.0%} of in-process "
           f"(load {os.getloadavg()[0]:.1f})")


def case_memory(base: str) -> None:
    redis = RedisServer()
    COUNTS.reset(capped=False)
    people = personas(100_000)
    before = int(redis.info("memory")["used_memory"])
    coord = start(["generate", "-c", str(config(base, rate_limit=True)), "-p", str(people), "-o",
                   str(WORK / "memory"), "--queue", redis.url, "--no-cache", "-q"])
    waiting = lambda: int(redis.cli("LLEN", "bull:convosim-conversations:wait") or 0)  # noqa: E731
    filled = wait_for(lambda: waiting() >= 300, 180)
    time.sleep(1)  # the window is full: nothing more is added
    queued = waiting()
    used = int(redis.info("memory")["used_memory"])
    coord.send_signal(signal.SIGTERM)
    coord.wait(30)
    redis.stop()
    mb = used / 2**20
    record("memory: 100,000 tasks pending, no worker", filled and mb < 50,
           f"{queued} jobs in Redis (the window, 2 × max_workers), the rest still in the personas file; "
           f"used_memory {mb:.1f} MB (empty: {before / 2**20:.1f} MB)")


CASES = {"capped": case_capped, "worker_kill": case_worker_kill, "coord_kill": case_coordinator_kill,
         "no_key": case_no_key, "throughput": case_throughput, "memory": case_memory}


def main() -> int:
    if not shutil.which("redis-server"):
        print("redis-server is not installed: sh scripts/setup-redis.sh", file=sys.stderr)
        return 2
    base = start_stand_in()
    chosen = sys.argv[1:] or list(CASES)
    for name in chosen:
        try:
            CASES[name](base)
        except Exception as error:  # a case that cannot run is a failure with its reason
            record(name, False, f"{type(error).__name__}: {error}")
    shutil.rmtree(WORK, ignore_errors=True)
    failed = [r for r in RESULTS if not r[1]]
    print(f"\n{len(RESULTS) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
