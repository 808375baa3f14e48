"""What every peer driver shares: the command line, the workload and the one-line JSON report.

The workload is the one convosim runs in the bench (bench/bench-personas.ts): `conversations`
three-turn conversations, each opened by a fixed user query, then assistant, simulated user,
assistant, simulated user, assistant — five calls, each carrying the whole history so far.
The simulated user's system prompt carries the stand-in's marker ("You are role-playing the
USER") so the stand-in answers it with a user-style follow-up, as it does for convosim.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

ASSISTANT_SYSTEM = "You are a helpful assistant. Answer the user's question clearly and briefly."
USER_SYSTEM = (
    "You are role-playing the USER in a conversation with an AI assistant. You are an engineer, "
    "advanced, casual. Reply with the user's next message only."
)
CALLS_PER_CONVERSATION = 5  # assistant, user, assistant, user, assistant
# Above any stand-in reply, so no tool sees a reply cut at the limit (curator retries those).
MAX_TOKENS = 512


def parse_args(extra: list[tuple[str, dict]] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="the stand-in's base URL, ending in /v1")
    parser.add_argument("--out", required=True, help="a fresh folder for outputs and caches")
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--rpm", type=int, default=0, help="the cap the tool is told (0: none)")
    for name, kwargs in extra or []:
        parser.add_argument(name, **kwargs)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    return args


def query(i: int) -> str:
    return f"How should a small team organise project {i} so that nothing falls through the cracks?"


def assistant_messages(history: list[dict]) -> list[dict]:
    """The assistant's request: its system prompt, then the conversation as it stands."""
    return [{"role": "system", "content": ASSISTANT_SYSTEM}, *history]


def user_messages(history: list[dict]) -> list[dict]:
    """The simulated user's request: the conversation seen from the user's side (roles swapped)."""
    swapped = [
        {"role": "assistant" if m["role"] == "user" else "user", "content": m["content"]} for m in history
    ]
    return [{"role": "system", "content": USER_SYSTEM}, *swapped]


def next_messages(history: list[dict]) -> list[dict]:
    """Whose turn it is follows from the last message: after the user, the assistant; and back."""
    return assistant_messages(history) if history[-1]["role"] == "user" else user_messages(history)


def write_conversations(out: str, conversations: list[list[dict]]) -> None:
    """One JSONL file of transcripts, as each tool's user would keep them."""
    with open(os.path.join(out, "conversations.jsonl"), "w") as f:
        for turns in conversations:
            f.write(json.dumps({"turns": turns}) + "\n")


def report(tool: str, version: str, done: int, failed: int, settings: dict) -> None:
    """The driver's last stdout line: what it finished; the runner adds wall, CPU and memory."""
    line = {"tool": tool, "version": version, "done": done, "failed": failed, "settings": settings}
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def complete_turns(turns: list[dict]) -> bool:
    """A finished three-turn conversation: query + 5 replies, ending with the assistant."""
    return len(turns) == 1 + CALLS_PER_CONVERSATION and turns[-1]["role"] == "assistant"
