"""The floor: a bare asyncio loop over the openai SDK's AsyncOpenAI, no framework.

One conversation holds one of `concurrency` slots from its first call to its last (as convosim's
max_workers does). The SDK's own retry (max_retries, exponential backoff that honours
Retry-After) is the only answer to 429s: with the cap, max_retries is raised so that every
conversation finishes rather than failing after the default two retries.
"""
from __future__ import annotations

import asyncio
from importlib.metadata import version

from openai import AsyncOpenAI

import common

args = common.parse_args()
MAX_RETRIES = 10 if args.rpm else 2


async def conversation(client: AsyncOpenAI, slots: asyncio.Semaphore, i: int) -> list[dict] | None:
    history = [{"role": "user", "content": common.query(i)}]
    async with slots:
        try:
            for _ in range(common.CALLS_PER_CONVERSATION):
                reply = await client.chat.completions.create(
                    model="stand-in", messages=common.next_messages(history), max_tokens=common.MAX_TOKENS
                )
                role = "assistant" if history[-1]["role"] == "user" else "user"
                history.append({"role": role, "content": reply.choices[0].message.content or ""})
        except Exception:  # noqa: BLE001 — a failed conversation is counted, not fatal
            return None
    return history


async def main() -> None:
    client = AsyncOpenAI(base_url=args.url, api_key="not-needed", max_retries=MAX_RETRIES)
    slots = asyncio.Semaphore(args.concurrency)
    results = await asyncio.gather(*(conversation(client, slots, i) for i in range(args.conversations)))
    finished = [r for r in results if r is not None and common.complete_turns(r)]
    common.write_conversations(args.out, finished)
    common.report(
        "python AsyncOpenAI loop",
        f"openai {version('openai')}",
        len(finished),
        args.conversations - len(finished),
        {"concurrency": args.concurrency, "max_retries": MAX_RETRIES},
    )


asyncio.run(main())
