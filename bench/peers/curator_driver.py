"""curator (bespokelabs-curator): an LLM subclass (prompt/parse) called once per round on the
whole dataset, as curator's docs show for multi-step generation: round k sends every
conversation's next request (assistant, user, assistant, user, assistant), five rounds.

Settings (backend "openai" on the stand-in's base_url, curator's own aiohttp client):
max_concurrent_requests = the in-flight count; without a cap, max_requests_per_minute and
max_tokens_per_minute far above anything reachable so that curator's own limiter never holds a
request back; with a cap, max_requests_per_minute = the cap (curator's own rate setting) and
seconds_to_pause_on_rate_limit = 1 (its minimum; the default pauses everything 10 s per 429).
Its response cache lives in the run's own fresh folder (CURATOR_CACHE_DIR), so nothing replays.
"""
from __future__ import annotations

import os
from importlib.metadata import version
from importlib.util import find_spec

import common

args = common.parse_args()
os.environ["CURATOR_CACHE_DIR"] = os.path.join(args.out, "curator-cache")
os.environ.setdefault("TELEMETRY_ENABLED", "false")
os.environ.setdefault("CURATOR_VIEWER", "0")
os.environ.setdefault("CURATOR_DISABLE_RICH_DISPLAY", "1")
# curator counts tokens with tiktoken's cl100k_base, which tiktoken downloads on first use; the
# bench reaches no host but PyPI, so point tiktoken at the copy litellm (a curator dependency)
# ships in its package.
_litellm = find_spec("litellm")
if _litellm and _litellm.submodule_search_locations:
    _bundled = os.path.join(_litellm.submodule_search_locations[0], "litellm_core_utils", "tokenizers")
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", _bundled)

from bespokelabs import curator  # noqa: E402


class NextTurn(curator.LLM):
    """One call per conversation: the next reply, appended to that conversation's history."""

    def prompt(self, row: dict) -> list[dict]:
        return common.next_messages(row["history"])

    def parse(self, row: dict, response: str) -> dict:
        role = "assistant" if row["history"][-1]["role"] == "user" else "user"
        return {"i": row["i"], "history": [*row["history"], {"role": role, "content": response}]}


backend_params: dict = {
    "base_url": args.url,
    "api_key": "not-needed",
    "max_concurrent_requests": args.concurrency,
    "max_requests_per_minute": args.rpm or 1_000_000,
    "max_tokens_per_minute": 1_000_000_000,
    "require_all_responses": False,
    **({"seconds_to_pause_on_rate_limit": 1} if args.rpm else {}),
}
llm = NextTurn(
    model_name="stand-in",
    backend="openai",
    backend_params=dict(backend_params),  # curator adds its own keys to the dict it is given
    generation_params={"max_tokens": common.MAX_TOKENS},
)

rows = [{"i": i, "history": [{"role": "user", "content": common.query(i)}]} for i in range(args.conversations)]
for _ in range(common.CALLS_PER_CONVERSATION):
    # Only conversations still whole go on to the next round (a failed call drops its row).
    rows = list(llm(rows).dataset)

finished = [r["history"] for r in rows if common.complete_turns(r["history"])]
common.write_conversations(args.out, finished)
common.report(
    "curator",
    f"bespokelabs-curator {version('bespokelabs-curator')}",
    len(finished),
    args.conversations - len(finished),
    {k: v for k, v in backend_params.items() if k not in ("base_url", "api_key")},
)
