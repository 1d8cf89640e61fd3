"""pytest plugin: ``fake_discord`` fixture and the ``allow_rejections`` marker.

Load with ``pytest_plugins = ["tests.fakediscord.pytest_plugin"]``.

``fake_discord`` starts a fresh FakeDiscord per test, points discord.py at it
(``Route.BASE`` and ``DiscordWebSocket.DEFAULT_GATEWAY``, restored afterwards), and at teardown
fails the test on anything Discord would not have done for a correct bot: a non-2xx answer the test neither
injected (``fake.inject_failures``) nor expected (``fake.expect_refusals``), an unknown route, or an answer of
the fake itself that breaks the spec (``check_responses`` is on). ``@pytest.mark.allow_rejections`` turns the
check off, for the fake's own tests of its refusals. ``@pytest.mark.fake_discord(enforce_rate_limits=True,
rate_limit_scale=0.1)`` passes keyword arguments to the FakeDiscord.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import pytest
import pytest_asyncio

from .fake import FakeDiscord


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "allow_rejections: no teardown check of refusals (the fake's own tests of refusals); "
        "bot tests mark what they provoke with fake.expect_refusals(...)",
    )
    config.addinivalue_line(
        "markers",
        "fake_discord(**kwargs): keyword arguments for the FakeDiscord of the fake_discord fixture, "
        "e.g. enforce_rate_limits=True, rate_limit_scale=0.1",
    )


@contextmanager
def discord_py_pointed_at(fake: FakeDiscord) -> Iterator[None]:
    """Point discord.py's REST base and default gateway at the fake (class attributes), then restore."""
    import discord.gateway
    import discord.http
    import yarl

    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = fake.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


@pytest_asyncio.fixture
async def fake_discord(request: pytest.FixtureRequest) -> AsyncIterator[FakeDiscord]:
    marker = request.node.get_closest_marker("fake_discord")
    # The fake checks its own answers against the spec in every test: a gap in the fake fails like a bot bug.
    fake = FakeDiscord(**{"check_responses": True, **(marker.kwargs if marker else {})})
    await fake.start()
    try:
        with discord_py_pointed_at(fake):
            yield fake
    finally:
        await fake.stop()
    if request.node.get_closest_marker("allow_rejections") is None:
        fake.assert_no_refusals()
