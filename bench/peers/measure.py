"""Runs one tool as a child process and measures its whole process tree, the same way for every
tool (convosim's CLI included):

  wall_s       from spawn to exit
  cpu_s        user + system CPU of the child and every descendant it waited for
               (getrusage(RUSAGE_CHILDREN) before and after)
  peak_rss_mb  the largest sum of resident memory over the tree, sampled every 50 ms (psutil)

    python measure.py [--timeout S] -- COMMAND ARGS...

Prints one JSON line: these figures, the exit code, and the child's own last stdout line when it
is JSON (the drivers' report: done, failed, settings, version).
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import threading
import time

import psutil


def tree_rss(root: psutil.Process) -> int:
    total = 0
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass  # exited between listing and reading
    return total


def main() -> None:
    argv = sys.argv[1:]
    timeout = 600.0
    if argv[:1] == ["--timeout"]:
        timeout, argv = float(argv[1]), argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(child.pid)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.05):
            peak = max(peak, tree_rss(root))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    timed_out = False
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        for p in [*root.children(recursive=True), root]:
            try:
                p.kill()
            except psutil.Error:
                pass
        out, err = child.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    report: dict = {}
    lines = [line for line in out.strip().splitlines() if line.strip()]
    if lines:
        try:
            report = json.loads(lines[-1])
        except json.JSONDecodeError:
            report = {}
    result = {
        **report,
        "exit_code": child.returncode,
        "timed_out": timed_out,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "peak_rss_mb": round(peak / 2**20, 1),
        # The last lines of stderr, so that a failed run explains itself in the results.
        "stderr_tail": err.strip().splitlines()[-3:] if child.returncode != 0 or timed_out else [],
    }
    sys.stdout.write(json.dumps(result) + "\n")


main()
