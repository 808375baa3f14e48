#!/usr/bin/env python3
"""Issue 12's hostile cases, re-run from the outside against the built CLI (./bin/convosim).

Written in Python on purpose: it shares no code with convosim or its tests. It starts its own
OpenAI-compatible stand-in on loopback (one server, a behaviour per URL prefix
/m/<mode>/v1/chat/completions, every request counted per mode), runs the CLI as a user would,
and prints PASS or FAIL with what it saw for each case. Exit status 1 when a case fails.

    npm run build && python3 bench/hostile-check.py            # all cases
    python3 bench/hostile-check.py signals retry_after          # some of them

Some cases need root (a tiny tmpfs for "disk full", a read-only bind mount); they say SKIP
otherwise. docs/hardening.md lists the cases and what each expects.
"""
from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = str(ROOT / "bin" / "convosim")
KEY_VAR = "HOSTILE_CHECK_KEY"
STACK_LINE = re.compile(r"^\s+at .+:\d+:\d+\)?$", re.M)
RAW_CONTROLS = re.compile(r"[\x1b\x07\x9b]")

# ───────────────────────────── the stand-in ─────────────────────────────

TOPICS = ["backups", "printers", "passwords", "spreadsheets", "email filters", "invoices",
          "calendars", "routers", "scanners", "laptops", "phones", "shared drives", "fonts",
          "screenshots", "updates", "webcams", "batteries", "keyboards", "tablets", "monitors"]
ASKS = ["How do I check {t} after step {n}?", "What should I do with {t} when step {n} fails?",
        "Is there a quicker way to handle {t} than step {n}?", "Where exactly do I find {t} for step {n}?",
        "Can you explain step {n} again for {t}, in simpler words?", "Why does step {n} matter for {t}?"]


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.openings: dict[str, set[str]] = {}
        self.rng = random.Random(7)

    def count(self, mode: str, opening: str) -> int:
        with self.lock:
            self.counts[mode] = self.counts.get(mode, 0) + 1
            self.openings.setdefault(mode, set()).add(opening)
            return self.counts[mode]

    def get(self, mode: str) -> int:
        with self.lock:
            return self.counts.get(mode, 0)

    def conversations(self, mode: str) -> int:
        with self.lock:
            return len(self.openings.get(mode, set()))


STATE = State()


def is_user_request(messages: list[dict]) -> bool:
    lead = "\n".join(str(m.get("content", "")) for i, m in enumerate(messages) if i == 0 or m.get("role") == "system")
    return bool(re.search(r"role-playing the USER|simulated user", lead, re.I))


def opening_of(messages: list[dict]) -> str:
    for m in messages:
        if m.get("role") == "user":
            return str(m.get("content", ""))[:200]
    return ""


def reply_text(mode: str, messages: list[dict], n: int) -> str:
    if not is_user_request(messages):
        return (f"Here is what to do. Step 1: open the settings. Step 2: choose the option you need "
                f"(reply {n}). Step 3: save and try again.")
    if mode == "realistic":  # a follow-up until two answers are in, then the stop
        answers = json.dumps(messages).count("Here is what to do.")  # whatever the prompt's format
        if answers < 2:
            rng = random.Random(n)
            return rng.choice(ASKS).format(t=rng.choice(TOPICS), n=rng.randint(1, 9))
        return "Thanks, that solves it. ###STOP###"
    if mode in ("endless", "slow"):  # a user who never stops, each follow-up different
        rng = random.Random(n)
        return rng.choice(ASKS).format(t=rng.choice(TOPICS), n=rng.randint(1, 9))
    return "Thanks, that solves it. ###STOP###"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.send_json(200, {"object": "list", "data": [{"id": "stand-in", "object": "model"}]})

    def send_json(self, code: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        raw = self.rfile.read(length)
        parts = self.path.split("/")
        mode = parts[2] if len(parts) > 2 and parts[1] == "m" else "ok"
        try:
            request = json.loads(raw)
        except ValueError:
            request = {}
        messages = request.get("messages", [])
        n = STATE.count(mode, opening_of(messages))
        if mode in ("r429", "r429short"):  # short: a wait under the default ceiling (60 s)
            after = "3600" if mode == "r429" else "50"
            self.send_json(429, {"error": {"message": "slow down", "type": "rate_limit"}}, {"retry-after": after})
            return
        if mode == "auth":
            self.send_json(401, {"error": {"message": "invalid api key", "type": "invalid_request_error"}})
            return
        if mode == "slow":
            time.sleep(0.4)
        text = reply_text(mode, messages, n)
        completion = 20
        if mode == "realistic" and not is_user_request(messages):  # answers of 80–300 tokens
            completion = random.Random(n).randint(80, 300)
            pick = random.Random(n + 1)  # one generator for the whole answer, so the words vary
            words = " ".join(pick.choice(TOPICS).split()[0] for _ in range(int(completion * 0.75)))
            text = f"{text} {words}"
        body = {
            "id": f"c{n}", "object": "chat.completion", "created": 0, "model": request.get("model", "m"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 50 + len(json.dumps(messages)) // 4, "completion_tokens": completion,
                      "total_tokens": 50 + len(json.dumps(messages)) // 4 + completion},
        }
        if mode == "reset" and n % 2 == 1:  # headers and half a body, then the connection dies
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.send_json(200, body)


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:  # a client that hung up is expected here
        pass


def start_stand_in() -> str:
    server = QuietServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


BASE = ""


def url(mode: str) -> str:
    return f"{BASE}/m/{mode}/v1"


# ───────────────────────────── helpers ─────────────────────────────

WORK = Path(tempfile.mkdtemp(prefix="hostile-"))
ENV = {**os.environ, KEY_VAR: "sk-hostile-check-not-a-real-key", "NO_COLOR": "1"}
RESULTS: list[tuple[str, bool, str]] = []


def config(mode: str, *, max_turns: int = 3, min_turns: int = 1, workers: int = 4, extra: str = "",
           base_url: str | None = None, model_block: str | None = None, assistant_extra: str = "") -> Path:
    base = base_url or url(mode)
    block = model_block or (f"    provider: openai\n    model: stand-in\n    base_url: {base}\n"
                            f"    api_key_env: {KEY_VAR}\n")
    text = (f"interaction_generation:\n  min_turns: {min_turns}\n  max_turns: {max_turns}\n"
            f"  max_workers: {workers}\n  max_retries: 1\n  retry_delay: 0\n"
            f"  call_retries:\n    count: 3\n    base_delay: 0.1\n    max_delay: 1\n"
            f"  assistant_model:\n{block}{assistant_extra}  user_model:\n{block}{extra}")
    path = WORK / f"config-{mode}-{random.random():.8f}.yaml"
    path.write_text(text)
    return path


def personas(n: int, name: str = "personas.jsonl") -> Path:
    path = WORK / name
    with path.open("w") as f:
        for i in range(n):
            f.write(json.dumps({"persona_id": f"p{i}", "persona_features": {"role": "clerk"},
                                "queries": [{"query_id": "q", "original_query": f"How do I fix problem {i}?"}]}) + "\n")
    return path


def run(args: list[str], timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=timeout, env=ENV,
                          errors="replace", **kw)


def one_line_exit2(p: subprocess.CompletedProcess) -> str | None:
    """None when the result is one clean error line with exit 2; else what was wrong."""
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    if p.returncode != 2:
        return f"exit {p.returncode}, stderr: {p.stderr.strip()[:300]}"
    if STACK_LINE.search(p.stderr) or "unexpected error" in p.stderr:
        return f"stack trace: {p.stderr.strip()[:300]}"
    if len(lines) > 3:
        return f"{len(lines)} lines on stderr: {p.stderr.strip()[:300]}"
    return None


def record(name: str, ok: bool, detail: str) -> None:
    RESULTS.append((name, ok, detail))
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}", flush=True)


def fresh(name: str) -> Path:
    d = WORK / name
    shutil.rmtree(d, ignore_errors=True)
    return d


def generated_folder() -> Path:
    """A small finished output folder to export, show and report from."""
    out = WORK / "done"
    if not (out / "index.json").exists():
        run(["generate", "-c", str(config("ok")), "-p", str(personas(3, "three.jsonl")), "-o", str(out), "-q"])
    return out


# ───────────────────────────── the cases ─────────────────────────────

def device(name: str, minor: int) -> Path | None:
    """A private copy of /dev/null (minor 3) or /dev/full (minor 7): a failing case must not
    replace the machine's own. Needs root (mknod); None otherwise."""
    path = WORK / name
    path.unlink(missing_ok=True)
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    except PermissionError:
        return None
    return path


def case_special_files() -> None:  # 1
    out = generated_folder()
    for cmd in (["export", str(out), "--format", "openai"], ["report", str(out)]):
        name = cmd[0]
        null, full = device(f"null-{name}", 3), device(f"full-{name}", 7)
        if null is None or full is None:
            print("SKIP  1 devices: needs root for mknod")
        else:
            p = run([*cmd, "-o", str(null)])
            ok = stat.S_ISCHR(os.stat(null).st_mode)
            record(f"1 {name} -o a null device", ok and p.returncode == 0, f"exit {p.returncode}, still a device: {ok}")
            p = run([*cmd, "-o", str(full)])
            ok = stat.S_ISCHR(os.stat(full).st_mode)
            record(f"1 {name} -o a full device", ok and p.returncode != 0 and not STACK_LINE.search(p.stderr),
                   f"exit {p.returncode}, still a device: {ok}, stderr: {p.stderr.strip()[:120]}")
        fifo = WORK / f"fifo-{name}"
        fifo.unlink(missing_ok=True)
        os.mkfifo(fifo)
        got: list[bytes] = []
        reader = threading.Thread(target=lambda: got.append(fifo.open("rb").read()))
        reader.start()
        p = run([*cmd, "-o", str(fifo)])
        reader.join(10)
        record(f"1 {name} -o FIFO", stat.S_ISFIFO(os.stat(fifo).st_mode) and len(got) == 1 and len(got[0]) > 0,
               f"exit {p.returncode}, still a FIFO: {stat.S_ISFIFO(os.stat(fifo).st_mode)}, bytes through: {len(got[0]) if got else None}")
        target, link = WORK / f"target-{name}", WORK / f"link-{name}"
        target.write_text("old")
        link.unlink(missing_ok=True)
        link.symlink_to(target)
        p = run([*cmd, "-o", str(link)])
        record(f"1 {name} -o symlink", link.is_symlink() and target.read_text() != "old",
               f"exit {p.returncode}, link kept: {link.is_symlink()}, target written: {target.read_text() != 'old'}")
        before = (out / "index.json").read_bytes()
        p = run([*cmd, "-o", str(out / "index.json")])
        record(f"1 {name} -o OUT/index.json", p.returncode == 2 and (out / "index.json").read_bytes() == before,
               f"exit {p.returncode}, index untouched: {(out / 'index.json').read_bytes() == before}")


def case_credentials() -> None:  # 2
    start = STATE.get("cred")
    cfg = config("cred", base_url=url("cred").replace("http://", "http://user:s3cr3tpass@"))
    out = fresh("cred")
    p = run(["generate", "-c", str(cfg), "-p", str(personas(2, "two.jsonl")), "-o", str(out)])
    leaked = "s3cr3tpass" in p.stderr + p.stdout or any(
        "s3cr3tpass" in f.read_text(errors="replace") for f in out.rglob("*") if f.is_file())
    problem = one_line_exit2(p)
    record("2 base_url with password", problem is None and not leaked and STATE.get("cred") == start,
           problem or f"leaked: {leaked}, requests: {STATE.get('cred') - start}, stderr: {p.stderr.strip()[:160]}")


def case_terminal_escapes() -> None:  # 3
    out = fresh("esc")
    path = WORK / "esc.jsonl"
    path.write_text(json.dumps({"persona_id": "evil\x1b[2J\x1b]0;pwned\x07", "persona_features": {"role": "x"},
                                "queries": [{"query_id": "q\x1b[31m", "original_query": "Hi \x1b[2J there \x9b31m?"}]}) + "\n")
    run(["generate", "-c", str(config("ok")), "-p", str(path), "-o", str(out), "-q"])
    p = run(["show", str(out)])
    record("3 show with escapes", p.returncode == 0 and not RAW_CONTROLS.search(p.stdout) and len(p.stdout) > 0,
           f"exit {p.returncode}, raw controls in stdout: {bool(RAW_CONTROLS.search(p.stdout))}")
    bad = WORK / "esc-bad.jsonl"
    bad.write_text(json.dumps({"persona_id": "evil\x1b]0;pwned\x07", "queries": []}) + "\n")
    p = run(["generate", "-c", str(config("ok")), "-p", str(bad), "-o", str(fresh("esc2"))])
    record("3 error line with escapes", p.returncode == 2 and not RAW_CONTROLS.search(p.stderr),
           f"exit {p.returncode}, raw controls in stderr: {bool(RAW_CONTROLS.search(p.stderr))}: {p.stderr.strip()[:120]!r}")


def wait_for(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def ledger_calls(out: Path) -> int:
    path = out / "usage.ndjson"
    if not path.exists():
        return 0
    total = 0
    for line in path.read_text().splitlines():
        if line.strip():
            record_ = json.loads(line)
            calls = record_.get("calls")
            total += calls if isinstance(calls, int) else len(record_.get("usage", record_.get("calls", [])) or [])
    return total


def case_max_turns_sigterm() -> None:  # 4
    p = run(["generate", "-c", str(config("endless", max_turns=100000)), "-p", str(personas(2, "two.jsonl")),
             "-o", str(fresh("mt-refused"))])
    record("4 max_turns 100000 refused or bounded", p.returncode == 2 and not STACK_LINE.search(p.stderr),
           f"exit {p.returncode}: {p.stderr.strip()[:160]}")
    # the largest accepted max_turns, a user who never stops, then SIGTERM
    ceiling = None
    for line in p.stderr.splitlines():
        m = re.search(r"(?:at most|ceiling|≤|<=)\D{0,20}(\d+)", line)
        if m:
            ceiling = int(m.group(1))
    ceiling = ceiling or 200
    out = fresh("mt")
    start = STATE.get("slow")
    proc = subprocess.Popen([CLI, "generate", "-c", str(config("slow", max_turns=ceiling, workers=4)),
                             "-p", str(personas(8, "eight.jsonl")), "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    wait_for(lambda: STATE.get("slow") - start >= 12, 60)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=30)
        took = time.monotonic() - t0
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        took = 99.0
    served = STATE.get("slow") - start
    in_ledger = ledger_calls(out)
    claims = re.search(r"saved to (\S+)/", err)
    honest_claim = not claims or Path(claims.group(1)).exists()
    record("4 SIGTERM with max_turns at the ceiling", took < 10 and in_ledger > 0 and honest_claim,
           f"ended {took:.1f}s after SIGTERM (exit {proc.returncode}), stand-in served {served}, "
           f"usage.ndjson counts {in_ledger} calls, claim honest: {honest_claim}")


def case_retry_after() -> None:  # 5
    out = fresh("ra")
    t0 = time.monotonic()
    p = run(["generate", "-c", str(config("r429")), "-p", str(personas(2, "two.jsonl")), "-o", str(out)], timeout=400)
    took = time.monotonic() - t0
    record("5 Retry-After 3600 fails the call, no stall", took < 120 and p.returncode != 0,
           f"{took:.1f}s, exit {p.returncode}, last lines: {' | '.join(p.stderr.strip().splitlines()[-2:])[:200]}")
    # A wait under the ceiling: shown on the progress line (one line every 10 s without a
    # terminal), and a signal ends it at once.
    start = STATE.get("r429short")
    proc = subprocess.Popen([CLI, "generate", "-c", str(config("r429short")), "-p", str(personas(2, "two.jsonl")),
                             "-o", str(fresh("ra2"))], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    wait_for(lambda: STATE.get("r429short") > start, 30)
    time.sleep(12)  # past the first plain progress line
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=15)
        took = time.monotonic() - t0
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        took = 99.0
    shown = [line for line in err.splitlines() if "paused" in line]
    record("5 a long pause is shown and SIGINT ends it", took < 5 and len(shown) > 0,
           f"ended {took:.1f}s after SIGINT (exit {proc.returncode}); progress said: {shown[:1]}")


def case_ctrl_c_admission() -> None:  # 6
    out = fresh("cc")
    start = STATE.get("slow")
    before_convs = STATE.conversations("slow")
    proc = subprocess.Popen([CLI, "generate", "-c", str(config("slow", max_turns=3, workers=20)),
                             "-p", str(personas(200, "many.jsonl")), "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    wait_for(lambda: STATE.get("slow") - start >= 60, 90)
    started = STATE.conversations("slow") - before_convs  # conversations the server has seen: done + in flight
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
    saved = len(list((out / "interactions").glob("*.json"))) if (out / "interactions").exists() else 0
    record("6 Ctrl-C starts no new conversation", saved <= started and proc.returncode == 130,
           f"started before the signal ≤ {started}, saved {saved}, exit {proc.returncode}")


def case_down_endpoint() -> None:  # 7
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    for name, base in (("connection refused", f"http://127.0.0.1:{port}/v1"), ("DNS failure", "http://no-such-host.invalid/v1")):
        t0 = time.monotonic()
        p = run(["generate", "-c", str(config("down", base_url=base)), "-p", str(personas(32, "p32.jsonl")),
                 "-o", str(fresh("down"))], timeout=300)
        took = time.monotonic() - t0
        record(f"7 endpoint down ({name})", took < 15 and p.returncode == 3 and not STACK_LINE.search(p.stderr),
               f"{took:.1f}s, exit {p.returncode}, says: {' | '.join(p.stderr.strip().splitlines()[-3:])[:220]}")
    start = STATE.get("auth")
    p = run(["generate", "-c", str(config("auth", workers=4)), "-p", str(personas(100, "p100.jsonl")),
             "-o", str(fresh("auth"))], timeout=300)
    sent = STATE.get("auth") - start
    failures = WORK / "auth" / "failures.ndjson"
    lines = len(failures.read_text().splitlines()) if failures.exists() else 0
    record("7 401 fails fast", p.returncode == 2 and sent <= 8,
           f"exit {p.returncode}, requests {sent}, failure lines {lines}, says: {p.stderr.strip().splitlines()[-1:]}")


def case_mid_body_reset() -> None:  # 8
    for transport in ("sdk", "undici"):
        extra = f"    transport: {transport}\n"
        base = url("reset")
        block = f"    provider: openai\n    model: stand-in\n    base_url: {base}\n    api_key_env: {KEY_VAR}\n{extra}"
        out = fresh(f"reset-{transport}")
        start = STATE.get("reset")
        p = run(["generate", "-c", str(config("reset", model_block=block)), "-p", str(personas(3, "three.jsonl")), "-o", str(out),
                 "--no-cache"])  # each transport makes its own calls
        saved = len(list((out / "interactions").glob("*.json"))) if (out / "interactions").exists() else 0
        m = re.search(r"(\d+) model calls", p.stderr)
        counted = int(m.group(1)) if m else -1
        served = STATE.get("reset") - start
        record(f"8 mid-body reset retried ({transport})", p.returncode == 0 and saved == 3 and counted == served,
               f"exit {p.returncode}, saved {saved}/3, summary counts {counted} calls, server saw {served}: {p.stderr.strip()[-160:]}")


def zero_requests_exit2(name: str, args: list[str], mode: str = "ok", **kw) -> None:
    start = STATE.get(mode)
    p = run(args, **kw)
    problem = one_line_exit2(p)
    sent = STATE.get(mode) - start
    record(name, problem is None and sent == 0, problem or f"one line, exit 2, {sent} requests: {p.stderr.strip()[:160]}")


def case_bad_out() -> None:  # 9
    cfg, ps = str(config("ok")), str(personas(3, "three.jsonl"))
    afile = WORK / "a-file"
    afile.write_text("x")
    zero_requests_exit2("9 --out is a regular file", ["generate", "-c", cfg, "-p", ps, "-o", str(afile)])
    zero_requests_exit2("9 --out under /proc", ["generate", "-c", cfg, "-p", ps, "-o", "/proc/convosim-out"])
    if os.geteuid() == 0:
        ro = WORK / "ro"
        ro.mkdir(exist_ok=True)
        if subprocess.run(["mount", "--bind", "-o", "ro", str(ro), str(ro)], capture_output=True).returncode == 0 or \
           subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)], capture_output=True).returncode == 0:
            try:
                zero_requests_exit2("9 --out in a read-only folder", ["generate", "-c", cfg, "-p", ps, "-o", str(ro / "out")])
            finally:
                subprocess.run(["umount", str(ro)], capture_output=True)
        else:
            print("SKIP  9 read-only folder: cannot bind-mount read-only here")


def case_bounded_input() -> None:  # 10
    cfg = str(config("ok"))
    deep = WORK / "deep.jsonl"
    deep.write_text('{"persona_id": "d", "queries": [{"query_id": "q", "original_query": "How?"}], "persona_features": {"x": '
                    + "[" * 5000 + "]" * 5000 + "}}\n")
    zero_requests_exit2("10 personas nested 5000 deep", ["generate", "-c", cfg, "-p", str(deep), "-o", str(fresh("deep"))])
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    (WORK / "bomb.yaml").write_text(bomb + "interaction_generation: {}\n")
    zero_requests_exit2("10 YAML alias bomb in the config", ["generate", "-c", str(WORK / "bomb.yaml"), "-o", str(fresh("bomb"))])
    anchors = "".join(f"    {c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    (WORK / "bomb-personas.yaml").write_text(
        "- persona_id: x\n  queries: [{query_id: q, original_query: How?}]\n  persona_features:\n"
        "    a: &a [x,x,x,x,x,x,x,x,x]\n" + anchors)
    zero_requests_exit2("10 YAML alias bomb in personas", ["generate", "-c", cfg, "-p", str(WORK / "bomb-personas.yaml"),
                                                          "-o", str(fresh("bomb2"))])
    proc = subprocess.Popen(["/usr/bin/time", "-f", "%M", CLI, "generate", "-c", "/dev/zero", "-o", str(fresh("zero"))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    kib = int(err.strip().splitlines()[-1]) if err.strip().splitlines()[-1].isdigit() else -1
    record("10 -c /dev/zero", proc.returncode == 2 and 0 < kib < 400_000,
           f"exit {proc.returncode}, peak RSS {kib // 1024} MiB: {err.strip().splitlines()[0][:120] if err.strip() else ''}")


def case_empty_personas() -> None:  # 11
    cfg = str(config("ok"))
    for name, text in (("empty", ""), ("[]", "[]\n"), ("only comments", "# nothing here\n# still nothing\n")):
        path = WORK / f"empty-{len(text)}.{'json' if text.startswith('[') else 'yaml' if text else 'jsonl'}"
        path.write_text(text)
        out = fresh("empty")
        p = run(["generate", "-c", cfg, "-p", str(path), "-o", str(out)])
        claims = re.search(r"saved to (\S+)/", p.stderr)
        honest = not claims or Path(claims.group(1)).exists()
        record(f"11 personas file {name}", p.returncode == 2 and honest and ("nothing" in p.stderr.lower() or "no persona" in p.stderr.lower()),
               f"exit {p.returncode}, honest: {honest}: {p.stderr.strip()[:140]}")


def case_utf8_and_ids() -> None:  # 12
    path = WORK / "badutf8.jsonl"
    lines = [json.dumps({"persona_id": f"p{i}", "queries": [f"question number {i} " + "x" * 300]}).encode() for i in range(7)]
    lines[5] = lines[5].replace(b"question", b"qu\xff\xfestion")
    path.write_bytes(b"\n".join(lines) + b"\n")
    p = run(["generate", "-c", str(config("ok")), "-p", str(path), "-o", str(fresh("utf8"))])
    record("12 invalid UTF-8 names its line", p.returncode == 2 and re.search(r"\bline 6\b|:6\b", p.stderr) is not None,
           p.stderr.strip()[:160])
    ids = WORK / "numeric-ids.jsonl"
    ids.write_text(json.dumps({"persona_id": 17, "queries": [{"query_id": 3, "original_query": "How?"}]}) + "\n")
    only_query = WORK / "numeric-query-id.jsonl"
    only_query.write_text(json.dumps({"persona_id": "x", "queries": [{"query_id": 3, "original_query": "How?"}]}) + "\n")
    only_persona = WORK / "numeric-persona-id.jsonl"
    only_persona.write_text(json.dumps({"persona_id": 17, "queries": [{"query_id": "q", "original_query": "How?"}]}) + "\n")
    codes = [run(["generate", "-c", str(config("ok")), "-p", str(f), "-o", str(fresh(f"ids-{i}"))]).returncode
             for i, f in enumerate((ids, only_query, only_persona))]
    record("12 numeric ids treated alike", len(set(codes)) == 1 and codes[0] in (0, 2),
           f"exit codes (both numeric, numeric query_id, numeric persona_id): {codes}")


def case_empty_pool() -> None:  # 13
    zero_requests_exit2("13 model_pool: []", ["generate", "-c", str(config("ok", assistant_extra="    model_pool: []\n")), "-p",
                                              str(personas(2, "two.jsonl")), "-o", str(fresh("pool"))])


def case_stats_and_disk() -> None:  # 14
    afile = WORK / "a-file"
    afile.write_text("x")
    p = run(["stats", str(afile)])
    record("14 stats FILE", p.returncode == 2 and not STACK_LINE.search(p.stderr), f"exit {p.returncode}: {p.stderr.strip()[:140]}")
    out = fresh("dirfile")
    shutil.copytree(generated_folder(), out)
    victim = next((out / "interactions").glob("*.json"))
    victim.unlink()
    victim.mkdir()
    p = run(["stats", str(out)])
    record("14 stats with a directory as interaction file", p.returncode in (0, 3) and not STACK_LINE.search(p.stderr) and
           "unexpected" not in p.stderr, f"exit {p.returncode}: {p.stderr.strip()[:160]}")
    p = run(["generate", "-c", str(config("ok")), "-p", str(personas(3, "three.jsonl")), "-o", str(out)])
    record("14 generate with a directory as interaction file", not STACK_LINE.search(p.stderr) and "unexpected" not in p.stderr,
           f"exit {p.returncode}: {p.stderr.strip()[-200:]}")
    if os.geteuid() != 0:
        print("SKIP  14 ENOSPC: needs root for a tmpfs")
        return
    mnt = WORK / "tiny"
    mnt.mkdir(exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True).returncode != 0:
        print("SKIP  14 ENOSPC: cannot mount a tmpfs")
        return
    try:
        ps = personas(60, "p60.jsonl")
        p = run(["generate", "-c", str(config("ok")), "-p", str(ps), "-o", str(mnt / "out"), "--no-cache"])
        saved = len(list((mnt / "out" / "interactions").glob("*.json")))
        ok = p.returncode not in (0, 1) and "disk full" in p.stderr.lower() and not STACK_LINE.search(p.stderr)
        record("14 ENOSPC while saving", ok, f"exit {p.returncode}, {saved} saved: {p.stderr.strip()[-200:]}")
        subprocess.run(["mount", "-o", "remount,size=4m", str(mnt)], capture_output=True)
        p = run(["generate", "-c", str(config("ok")), "-p", str(ps), "-o", str(mnt / "out"), "--no-cache"])
        saved2 = len(list((mnt / "out" / "interactions").glob("*.json")))
        record("14 rerun after freeing space completes", p.returncode == 0 and saved2 == 60, f"exit {p.returncode}, {saved2}/60 saved")
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def case_epipe() -> None:  # 15
    out = generated_folder()
    for cmd in (["show", str(out)], ["export", str(out), "--format", "openai"], ["stats", str(out)]):
        p = subprocess.run(f"{CLI} {' '.join(cmd)} | head -c 10 >/dev/null; echo \"${{PIPESTATUS[0]}}\" >&2",
                           shell=True, executable="/bin/bash", capture_output=True, text=True, env=ENV)
        record(f"15 {cmd[0]} | head", not STACK_LINE.search(p.stderr) and "EPIPE" not in p.stderr,
               f"stderr: {p.stderr.strip()[:140]!r}")


def case_cache_dir() -> None:  # 16
    p = run(["generate", "-c", str(config("ok")), "-p", str(personas(2, "two.jsonl")), "-o", str(fresh("cd")),
             "--cache-dir", "/dev/null/x"])
    record("16 --cache-dir /dev/null/x refused or warned", (p.returncode == 2 and not STACK_LINE.search(p.stderr)) or
           "cache" in p.stderr.lower(), f"exit {p.returncode}: {p.stderr.strip()[:160]}")


def case_wrong_interaction() -> None:  # 17
    out = fresh("wrong")
    shutil.copytree(generated_folder(), out)
    files = sorted((out / "interactions").glob("*.json"))
    files[0].write_text(json.dumps({"hello": "world"}))
    other = json.loads(files[2].read_text())
    files[1].write_text(json.dumps(other))  # valid interaction, another id
    start = STATE.get("ok")
    p = run(["generate", "-c", str(config("ok")), "-p", str(personas(3, "three.jsonl")), "-o", str(out), "--no-cache"])
    fixed = all(json.loads(f.read_text()).get("interaction_id") == f.stem for f in files[:2] if f.exists())
    record("17 wrong interaction files regenerated or quarantined", fixed and STATE.get("ok") > start,
           f"exit {p.returncode}, requests {STATE.get('ok') - start}, files now valid: {fixed}: {p.stderr.strip()[-160:]}")
    files[0].write_text(json.dumps({"hello": "world"}))
    for cmd in (["stats", str(out)], ["report", str(out), "-o", str(WORK / "r.html")], ["export", str(out), "--format", "openai", "-o", str(WORK / "e.jsonl")]):
        p = run(cmd)
        record(f"17 {cmd[0]} goes on past a bad file", p.returncode in (0, 3) and not STACK_LINE.search(p.stderr),
               f"exit {p.returncode}: {p.stderr.strip()[:160]}")


def case_lock() -> None:  # 18
    out = fresh("lock")
    start = STATE.get("slow")
    first = subprocess.Popen([CLI, "generate", "-c", str(config("slow", max_turns=2, workers=2)), "-p",
                              str(personas(20, "p20.jsonl")), "-o", str(out)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=ENV)
    wait_for(lambda: STATE.get("slow") > start, 60)
    mid = STATE.get("ok")
    p = run(["generate", "-c", str(config("ok")), "-p", str(personas(20, "p20.jsonl")), "-o", str(out)])
    problem = one_line_exit2(p)
    record("18 a second run on the same folder is refused", problem is None and STATE.get("ok") == mid,
           problem or p.stderr.strip()[:160])
    first.kill()  # kill -9: the next run takes over the stale lock
    first.communicate()
    p = run(["generate", "-c", str(config("ok")), "-p", str(personas(20, "p20.jsonl")), "-o", str(out)])
    saved = len(list((out / "interactions").glob("*.json")))
    record("18 after kill -9 a rerun completes", p.returncode == 0 and saved == 20, f"exit {p.returncode}, {saved}/20: {p.stderr.strip()[-120:]}")


def case_no_provider() -> None:  # 19
    block = f"    model: gpt-4o-mini\n    api_key_env: CONVOSIM_UNSET_VAR\n"
    env_had = os.environ.get("CONVOSIM_UNSET_VAR")
    assert env_had is None
    p = run(["generate", "-c", str(config("ok", model_block=block)), "-p", str(personas(2, "two.jsonl")), "-o", str(fresh("np"))])
    ran_local = (WORK / "np" / "interactions").exists()
    record("19 model block without provider", p.returncode == 2 and not ran_local, f"exit {p.returncode}: {p.stderr.strip()[:160]}")


CASES = {
    "special_files": case_special_files, "credentials": case_credentials, "escapes": case_terminal_escapes,
    "signals": case_max_turns_sigterm, "retry_after": case_retry_after, "ctrl_c": case_ctrl_c_admission,
    "down": case_down_endpoint, "reset": case_mid_body_reset, "bad_out": case_bad_out,
    "bounded": case_bounded_input, "empty": case_empty_personas, "utf8_ids": case_utf8_and_ids,
    "pool": case_empty_pool, "stats_disk": case_stats_and_disk, "epipe": case_epipe, "cache_dir": case_cache_dir,
    "wrong_file": case_wrong_interaction, "lock": case_lock, "no_provider": case_no_provider,
}


def main() -> int:
    global BASE
    BASE = start_stand_in()
    chosen = sys.argv[1:] or list(CASES)
    for name in chosen:
        try:
            CASES[name]()
        except Exception as error:  # a crash of the checker is a failed case, not a silent pass
            record(name, False, f"checker error: {error!r}")
    failed = [r for r in RESULTS if not r[1]]
    print(f"\n{len(RESULTS) - len(failed)} passed, {len(failed)} failed (work folder {WORK})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
