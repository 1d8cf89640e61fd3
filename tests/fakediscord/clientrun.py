"""Run a discord.py client against the fake for the length of a block.

    async with running(fake, bot):
        ix = await fake.slash(guild, channel, user, "ping")

Starts ``client.start(fake.token)`` in a task, waits until it is ready (every shard's guilds
received), and closes it at the end. The client must already point at the fake (the
``fake_discord`` fixture does that, as does the bot's own ``discord.api_base`` setting).
Pass ``guild_ready_timeout=0.1`` or so to the client: discord.py waits that long after the
last GUILD_CREATE before it is "ready" (default 2 s).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from .fake import FakeDiscord


@contextlib.asynccontextmanager
async def running(fake: FakeDiscord, client: Any, *, timeout: float = 15.0) -> AsyncIterator[Any]:
    task = asyncio.create_task(client.start(fake.token), name="fakediscord-client")

    def ready() -> bool:
        if task.done():
            task.result()  # re-raise a login/connect failure right away
        return bool(client.is_ready())

    try:
        await fake.wait_until(ready, timeout, "the client to be ready")
        yield client
    finally:
        await client.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 10)
