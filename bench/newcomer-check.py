#!/usr/bin/env python3
"""Issue 13's first-hour cases, re-run from the outside as a new user would.

Plain Python like bench/hostile-check.py, whose loopback stand-in it reuses. It checks:
  env      OPENAI_BASE_URL + OPENAI_API_KEY and --assistant/--user flags reach the stand-in
  init     `convosim init`, then `generate` with only the personas it wrote
  budget   --budget-usd spends at least 80 % of the budget before stopping
  tmux     the progress display in a 50- and a 200-column tmux pane (needs tmux)
  install  `npm pack` and a git URL, each installed in an empty project: `npx convosim --help`,
           `import { generate } from "convosim"`, the size with --omit=optional, and the message
           when the local model is asked for without its runtime (needs the npm registry)

    npm run build && python3 bench/newcomer-check.py [case …]
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("hostile_check", HERE / "hostile-check.py")
hc = importlib.util.module_from_spec(spec)
assert spec.loader is not None
spec.loader.exec_module(hc)

ROOT, CLI = hc.ROOT, hc.CLI
WORK = Path(tempfile.mkdtemp(prefix="newcomer-"))
record = hc.record


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    return {**base, "NO_COLOR": "1", **extra}


def case_env() -> None:
    start = hc.STATE.get("realistic")
    out = WORK / "env-out"
    p = subprocess.run([CLI, "generate", "--assistant", "openai:m", "--user", "openai:m", "--limit", "5",
                        "--out", str(out), "--no-cache"], capture_output=True, text=True, cwd=WORK, timeout=120,
                       env=env(OPENAI_BASE_URL=hc.url("realistic"), OPENAI_API_KEY="x"))
    saved = len(list((out / "interactions").glob("*.json"))) if out.exists() else 0
    record("OPENAI_BASE_URL with --assistant/--user", p.returncode == 0 and saved == 5 and hc.STATE.get("realistic") > start,
           f"exit {p.returncode}, {saved}/5 saved, {hc.STATE.get('realistic') - start} requests at the stand-in; "
           f"says: {[l for l in p.stderr.splitlines() if 'OPENAI_BASE_URL' in l][:1]}")


def case_init() -> None:
    project = WORK / "project"
    shutil.rmtree(project, ignore_errors=True)
    p = subprocess.run([CLI, "init", str(project)], capture_output=True, text=True, timeout=60, env=env())
    written = sorted(f.name for f in project.iterdir()) if project.exists() else []
    record("init writes a config and personas", p.returncode == 0 and "convosim.yaml" in written and "personas.jsonl" in written,
           f"exit {p.returncode}, wrote {written}; says: {p.stdout.strip().splitlines()[-1:] if p.stdout.strip() else p.stderr.strip()[:120]}")
    start = hc.STATE.get("realistic")
    # The starter config names OpenAI; OPENAI_BASE_URL points it at the stand-in, as a user would
    # point it at a proxy. No --config: generate finds ./convosim.yaml.
    p = subprocess.run([CLI, "generate", "--personas", "personas.jsonl", "--out", "out", "--no-cache"], cwd=project,
                       capture_output=True, text=True, timeout=180, env=env(OPENAI_BASE_URL=hc.url("realistic"), OPENAI_API_KEY="x"))
    saved = len(list((project / "out" / "interactions").glob("*.json"))) if (project / "out").exists() else 0
    record("generate after init with only --personas", p.returncode == 0 and saved > 0 and hc.STATE.get("realistic") > start,
           f"exit {p.returncode}, {saved} saved; first line: {p.stderr.strip().splitlines()[:1]}")


def case_budget() -> None:
    # Realistic replies: assistant answers of 80–300 tokens (text and usage alike), a user who asks
    # twice and stops; priced so that one conversation costs about a thousandth of a dollar.
    cfg = hc.config("realistic", workers=6, max_turns=4, min_turns=2)
    cfg.write_text(cfg.read_text() + "pricing:\n  openai/stand-in:\n    input: 1.0\n    output: 4.0\n")
    out = WORK / "budget"
    shutil.rmtree(out, ignore_errors=True)
    p = hc.run(["generate", "-c", str(cfg), "-p", str(hc.personas(200, "p200.jsonl")), "-o", str(out),
                "--budget-usd", "0.05", "--no-cache"], timeout=300)
    # The ledger: one line per conversation (and per helper call), each with what it cost.
    ledger = out / "usage.ndjson"
    lines = ledger.read_text().splitlines() if ledger.exists() else []
    spent = sum(float(json.loads(line).get("cost_usd", 0)) for line in lines if line.strip())
    record("--budget-usd 0.05 spends ≥ 80 %", p.returncode == 4 and 0.04 <= spent <= 0.06,
           f"exit {p.returncode}, spent ${spent:.4f}; says: {[l for l in p.stderr.splitlines() if 'budget' in l][:1]}")


def case_tmux() -> None:
    if shutil.which("tmux") is None:
        print("SKIP  tmux: not installed (apt-get install -y tmux)")
        return
    for width in (50, 200):
        session = f"newcomer{width}"
        out = WORK / f"tmux{width}"
        shutil.rmtree(out, ignore_errors=True)
        cfg = hc.config("slow", workers=4, max_turns=2)
        command = (f"HOSTILE_CHECK_KEY=x {CLI} generate -c {cfg} -p {hc.personas(24, 'p24.jsonl')} -o {out} --no-cache; "
                   f"echo EXIT=$?; sleep 30")
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", str(width), "-y", "20", command], check=True)
        frames: list[str] = []
        end = time.monotonic() + 120
        while time.monotonic() < end:
            pane = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
            frames.append(pane)
            if "EXIT=" in pane:
                break
            time.sleep(0.7)
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        live = [f for f in frames if "%" in f and "EXIT=" not in f]
        # Clean: every live frame holds the display once (one bar), no line wider than the pane.
        too_wide = [l for f in frames for l in f.splitlines() if len(l) > width]
        stale = [f for f in live if len(re.findall(r"\d+%", f)) > 1]
        has_eta = any("ETA" in f for f in live)
        record(f"tmux {width} columns: a clean bar with ETA", bool(live) and not too_wide and not stale and has_eta,
               f"{len(live)} live frames, lines over {width}: {len(too_wide)}, frames with two bars: {len(stale)}, "
               f"ETA shown: {has_eta}; last live frame: {live[-1].strip().splitlines() if live else None}")


def npm(args: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(["npm", *args, "--no-audit", "--no-fund"], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env())


def check_installed(name: str, project: Path) -> None:
    helped = subprocess.run(["npx", "convosim", "--help"], cwd=project, capture_output=True, text=True, timeout=60, env=env())
    imported = subprocess.run(["node", "--input-type=module", "-e",
                               'import { generate } from "convosim"; console.log(typeof generate)'],
                              cwd=project, capture_output=True, text=True, timeout=60, env=env())
    size = subprocess.run(["du", "-sm", "node_modules"], cwd=project, capture_output=True, text=True).stdout.split()[0]
    local = subprocess.run(["npx", "convosim", "generate", "--model", "local:qwen2.5-coder-0.5b-instruct", "--limit", "1",
                            "--out", "o"], cwd=project, capture_output=True, text=True, timeout=120, env=env())
    explains = local.returncode == 2 and "node-llama-cpp" in local.stderr
    # The Anthropic SDK is optional too: an anthropic model without it is the same kind of line.
    claude = subprocess.run(["npx", "convosim", "generate", "--model", "anthropic:claude-x", "--limit", "1",
                             "--out", "o2"], cwd=project, capture_output=True, text=True, timeout=120,
                            env={**env(), "ANTHROPIC_API_KEY": "sk-ant-newcomer-check-not-real"})
    explains_sdk = claude.returncode == 2 and "npm i @anthropic-ai/sdk" in claude.stderr
    record(f"{name}: npx convosim --help, import, --omit=optional size, local and anthropic model messages",
           helped.returncode == 0 and imported.stdout.strip() == "function" and int(size) < 100 and explains
           and explains_sdk,
           f"--help exit {helped.returncode}, import → {imported.stdout.strip() or imported.stderr.strip()[:100]}, "
           f"node_modules {size} MB, local model: exit {local.returncode}: {local.stderr.strip()[:160]}; "
           f"anthropic model: exit {claude.returncode}: {claude.stderr.strip()[:160]}")


def case_install() -> None:
    packed = subprocess.run(["npm", "pack", "--pack-destination", str(WORK)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    tarball = WORK / packed.stdout.strip().splitlines()[-1] if packed.returncode == 0 else None
    for name, spec_ in (("tarball", str(tarball) if tarball else None), ("git URL", f"git+file://{ROOT}")):
        if spec_ is None:
            record(f"{name}: install", False, f"npm pack failed: {packed.stderr.strip()[:200]}")
            continue
        project = WORK / f"install-{name.split()[0]}"
        shutil.rmtree(project, ignore_errors=True)
        project.mkdir()
        (project / "package.json").write_text(json.dumps({"name": "try", "version": "1.0.0", "private": True}))
        t0 = time.monotonic()
        p = npm(["install", "--omit=optional", spec_], project)
        took = time.monotonic() - t0
        if p.returncode != 0:
            record(f"{name}: install", False, f"npm install failed in {took:.0f}s: {p.stderr.strip()[-300:]}")
            continue
        print(f"      {name}: npm install --omit=optional took {took:.0f}s")
        check_installed(name, project)


CASES = {"env": case_env, "init": case_init, "budget": case_budget, "tmux": case_tmux, "install": case_install}


def main() -> int:
    hc.BASE = hc.start_stand_in()
    for name in sys.argv[1:] or list(CASES):
        try:
            CASES[name]()
        except Exception as error:  # a crash of the checker is a failed case, not a silent pass
            record(name, False, f"checker error: {error!r}")
    failed = [r for r in hc.RESULTS if not r[1]]
    print(f"\n{len(hc.RESULTS) - len(failed)} passed, {len(failed)} failed (work folder {WORK})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
