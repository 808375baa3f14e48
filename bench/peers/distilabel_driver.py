"""distilabel: its OpenAILLM used standalone (llm.load(); llm.generate_outputs(inputs=...)), as
distilabel's LLM docs show.

Standalone rather than inside a Pipeline: a Pipeline runs every step in a process of its own and
passes batches between them, which only adds work to the same calls on a 2-core machine; the LLM
alone is distilabel at its fastest. generate_outputs sends one batch concurrently (asyncio.gather
over agenerate), so the batch size is the in-flight count: `concurrency` conversations at a time,
five rounds (assistant, user, assistant, user, assistant) per batch. distilabel has no request
rate setting; 429s are left to the openai client it wraps (max_retries, honouring Retry-After).
"""
from __future__ import annotations

from importlib.metadata import version

from distilabel.models.llms import OpenAILLM

import common

args = common.parse_args()
MAX_RETRIES = 10 if args.rpm else 6  # 6 is distilabel's default

llm = OpenAILLM(model="stand-in", base_url=args.url, api_key="not-needed", max_retries=MAX_RETRIES, timeout=120)
llm.load()

finished: list[list[dict]] = []
failed = 0
for start in range(0, args.conversations, args.concurrency):
    batch = [[{"role": "user", "content": common.query(i)}] for i in range(start, min(start + args.concurrency, args.conversations))]
    try:
        for _ in range(common.CALLS_PER_CONVERSATION):
            outputs = llm.generate_outputs(
                inputs=[common.next_messages(h) for h in batch], num_generations=1, max_new_tokens=common.MAX_TOKENS
            )
            for history, output in zip(batch, outputs):
                role = "assistant" if history[-1]["role"] == "user" else "user"
                history.append({"role": role, "content": output["generations"][0] or ""})
    except Exception:  # noqa: BLE001 — a failed batch is counted, not fatal
        failed += len(batch)
        continue
    finished.extend(h for h in batch if common.complete_turns(h))
    failed += sum(1 for h in batch if not common.complete_turns(h))

common.write_conversations(args.out, finished)
common.report(
    "distilabel",
    f"distilabel {version('distilabel')}",
    len(finished),
    failed,
    {"batch (in flight)": args.concurrency, "max_retries": MAX_RETRIES, "timeout_s": 120},
)
