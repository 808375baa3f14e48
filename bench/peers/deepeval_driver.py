"""deepeval: ConversationSimulator (async_mode, max_concurrent) driving an async model_callback,
as deepeval's conversation-simulation docs show.

Each golden opens with the fixed user query as its first turn, so the simulator answers it and
then simulates two more user turns: max_user_simulations=2 makes the same five calls per
conversation as the other tools (no expected_outcome: no extra "is it complete?" call).
The simulator model is a custom DeepEvalBaseLLM (deepeval's documented way to use any model) on
the stand-in. The stand-in answers prose, not JSON, so a_generate fills the requested schema's
text field with the reply (deepeval would otherwise ask for and parse JSON; the call is the same).
deepeval has no request-rate setting: 429s are left to the openai client (max_retries, which
honours Retry-After).
"""
from __future__ import annotations

import asyncio
import os
from importlib.metadata import version

os.environ.setdefault("DEEPEVAL_TELEMETRY_OPT_OUT", "YES")

from deepeval.dataset import ConversationalGolden  # noqa: E402
from deepeval.models import DeepEvalBaseLLM  # noqa: E402
from deepeval.simulator import ConversationSimulator  # noqa: E402
from deepeval.test_case import Turn  # noqa: E402
from openai import AsyncOpenAI, OpenAI  # noqa: E402

import common  # noqa: E402

args = common.parse_args()
MAX_RETRIES = 10 if args.rpm else 2
client = AsyncOpenAI(base_url=args.url, api_key="not-needed", max_retries=MAX_RETRIES)


def as_schema(schema, text: str):
    """The reply as the requested pydantic schema: every text field gets the reply."""
    return schema(**{name: text for name, f in schema.model_fields.items() if f.annotation is str})


class StandInModel(DeepEvalBaseLLM):
    def __init__(self) -> None:
        self.sync_client = OpenAI(base_url=args.url, api_key="not-needed", max_retries=MAX_RETRIES)
        super().__init__("stand-in")

    def load_model(self):
        return self.sync_client

    def generate(self, prompt: str, schema=None):
        reply = self.sync_client.chat.completions.create(
            model="stand-in", messages=[{"role": "user", "content": prompt}], max_tokens=common.MAX_TOKENS
        )
        text = reply.choices[0].message.content or ""
        return as_schema(schema, text) if schema else text

    async def a_generate(self, prompt: str, schema=None):
        # The simulated user's request, marked as the others' are so the stand-in answers as the user.
        reply = await client.chat.completions.create(
            model="stand-in",
            messages=[{"role": "system", "content": common.USER_SYSTEM}, {"role": "user", "content": prompt}],
            max_tokens=common.MAX_TOKENS,
        )
        text = reply.choices[0].message.content or ""
        return as_schema(schema, text) if schema else text

    def get_model_name(self) -> str:
        return "stand-in"


async def assistant(input: str, turns: list[Turn]) -> Turn:
    history = [{"role": t.role, "content": t.content} for t in turns]
    reply = await client.chat.completions.create(
        model="stand-in", messages=common.assistant_messages(history), max_tokens=common.MAX_TOKENS
    )
    return Turn(role="assistant", content=reply.choices[0].message.content or "")


goldens = [
    ConversationalGolden(
        scenario="An engineer asks an assistant how to organise a team project.",
        user_description="an engineer, advanced, casual",
        turns=[Turn(role="user", content=common.query(i))],
    )
    for i in range(args.conversations)
]
simulator = ConversationSimulator(
    model_callback=assistant, simulator_model=StandInModel(), max_concurrent=args.concurrency, async_mode=True
)
cases = simulator.simulate(conversational_goldens=goldens, max_user_simulations=2)
finished = [[{"role": t.role, "content": t.content} for t in c.turns] for c in cases if c is not None]
finished = [t for t in finished if common.complete_turns(t)]
common.write_conversations(args.out, finished)
common.report(
    "deepeval ConversationSimulator",
    f"deepeval {version('deepeval')}",
    len(finished),
    args.conversations - len(finished),
    {"max_concurrent": args.concurrency, "async_mode": True, "max_retries": MAX_RETRIES},
)
