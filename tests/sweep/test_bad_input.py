"""The bad-input sweep: every synced slash command, called with generated bad values (hypothesis).

For each call: no apology with a reference (a bug) and no silence reaches the member, nothing Discord would
refuse is sent (any non-2xx, unknown route or off-spec answer of the fake), nothing the input mentions is
pinged, and where the command refused, the database is unchanged. One bot per backend for the whole module, on
real seed rows made through the real flows (so edit/cancel/announce-now reach existing things); a few examples
per command, at least MIN_PROBES of them reaching the bot; the count per command is printed in the summary.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, Phase, given, seed, settings
from sqlalchemy import func, select

from labelbot.artists.models import Artist
from labelbot.catalog.models import Release, ReleaseStatus
from labelbot.client import LabelBot
from labelbot.db import Base
from labelbot.guilds.models import GuildSettings
from labelbot.models.fan_roles import FanRolePanel
from labelbot.models.parties import ListeningParty
from labelbot.tree import MEMBER_NOT_HERE
from tests.databases import DatabaseFactory, backends
from tests.fakediscord import ChannelType, FakeDiscord, FakeInteraction, FakeMessage, FakeReply, FakeUser, interactions
from tests.fakediscord.pytest_plugin import discord_py_pointed_at
from tests.harness import BotHarness
from tests.sweep.values import Targets, command_inputs, nasty_strings

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]

# The top-level commands the sweep knows; test_every_synced_command_is_swept fails when one is added.
GROUPS = [
    "about",
    "artist",
    "artist-admin",
    "calendar",
    "calendar-admin",
    "claim",
    "collab",
    "collab-admin",
    "dashboard",
    "drop",
    "drop-admin",
    "event",
    "event-admin",
    "forget-me",
    "me",
    "party",
    "perks",
    "profile",
    "release",
    "roles",
    "roles-admin",
    "settings",
    "supporters",
]
EXAMPLES_MAX = 6
# Each command must be reached (not hidden from the member) at least this many times.
MIN_PROBES = 2
# The only reason a probe may not reach the bot: the Discord client does not show the command to the member.
HIDDEN = "cannot see /"
OUTSIDER = "not-in-the-server"
REPLY_TIMEOUT = 15.0
SEED = 20261121
# Discord drops an autocomplete the bot has not answered within 3 seconds.
AUTOCOMPLETE_TIMEOUT = 3.0


# Bugs the sweep found in code this module does not own: (group or None for any, backend or None for both, what,
# matcher). A group whose only problems are known bugs xfails, naming them. Random draws do not hit a bug every run,
# so each bug also has a dedicated strict-xfail test below, which fails once the bug is fixed.
def _apology(p: Problem) -> bool:
    return "reference `" in p.what


KNOWN_BUGS: list[tuple[str | None, str | None, str, Any]] = []


@dataclass
class Problem:
    command: str
    user: str
    options: dict[str, Any]
    what: str

    def __str__(self) -> str:
        shown = {k: _show(v) for k, v in self.options.items()}
        return f"/{self.command} as {self.user} with {shown}: {self.what}"


@dataclass
class World:
    harness: BotHarness
    targets: Targets
    member: FakeUser
    owner: FakeUser
    backend: str
    failed: dict[int, bool] = field(default_factory=dict)  # interaction id -> was it a bug
    probes: dict[str, int] = field(default_factory=dict)  # command path -> probes that reached the bot

    @property
    def fake(self) -> FakeDiscord:
        return self.harness.fake

    @property
    def bot(self) -> LabelBot:
        assert self.harness.bot is not None
        return self.harness.bot


def _show(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 60:
        return f"{value[:20]!r}... ({len(value)} chars)"
    if isinstance(value, tuple):
        return f"<file {value[0]}>"
    return getattr(value, "name", value)


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=backends())
async def world(
    request: pytest.FixtureRequest, database_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    fake = FakeDiscord(check_responses=True)  # the fake's answers are checked against the spec too
    await fake.start()
    workdir = Path(tmp_path_factory.mktemp(f"sweep-{request.param}"))
    url = await database_factory.url(str(request.param))
    try:
        with discord_py_pointed_at(fake):
            h = BotHarness(fake, url, workdir)
            g = h.guild
            for kind in (ChannelType.voice, ChannelType.stage, ChannelType.news, ChannelType.forum):
                g.add_channel(f"sweep-{kind.name}", type=kind)
            assert g.bot_role is not None
            roles = [
                g.everyone,
                g.bot_role,
                g.add_role("Fans", mentionable=True),
                g.add_role("Staff"),
            ]
            roles.append(g.add_role("Above the bot", position=len(g.roles)))
            victim_role = g.add_role("Victims", mentionable=True)
            member = fake.add_user("plain-member")
            g.add_member(member)
            victim = fake.add_user("victim")
            g.add_member(victim)
            outsider = fake.add_user(OUTSIDER)
            owner = fake.user(h.moderator.id)
            users = [owner, member, fake.bot_user, outsider]
            targets = Targets(
                users,
                roles,
                [c for c in g.channels if c.type != ChannelType.category],
                victim,
                victim_role,
                existing=list(SEED_NAMES),
            )
            try:
                await h.start()
                world = World(h, targets, member, owner, str(request.param))

                async def on_interaction_failed(interaction: Any, name: str, is_bug: bool) -> None:
                    world.failed[interaction.id] = is_bug

                world.bot.add_listener(on_interaction_failed, "on_interaction_failed")
                await _seed(world)
                yield world
            finally:
                await h.stop()  # also when a seed fails, or the bot would keep the module's loop busy
    finally:
        await fake.stop()
    # The seeds and every probe ran under the same check as every end-to-end test.
    fake.assert_no_refusals()


SEED_NAMES = ("Nova", "Seed")


async def _seed_command(world: World, path: str, **options: Any) -> FakeReply:
    h = world.harness
    ix = await interactions.slash(h.fake, h.guild, h.general, h.moderator, path, options)
    return await ix.reply(timeout=REPLY_TIMEOUT)


async def _seed_rows(bot: LabelBot, model: type[Any], *where: Any) -> int:
    async with bot.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _seed(world: World) -> None:
    """A few real things, made as members make them, so bad input also reaches the code that works on rows."""
    h = world.harness
    for kind in ("announcements", "parties"):
        reply = await _seed_command(world, "settings channel", kind=kind, channel=h.general)
        assert "is now" in reply.content, reply.text
    async with world.bot.sessionmaker() as session:
        settings_row = await session.get(GuildSettings, h.guild.id)
    assert settings_row is not None
    assert (settings_row.announcements_channel_id, settings_row.parties_channel_id) == (h.general.id, h.general.id)

    await _seed_command(world, "artist-admin add", name="Nova")
    assert await _seed_rows(world.bot, Artist, Artist.name == "Nova") == 1

    # /release create answers with its form; the preview's Schedule button makes it a scheduled release.
    ix = await interactions.slash(
        h.fake,
        h.guild,
        h.general,
        h.moderator,
        "release create",
        {"artist": "Nova", "title": "Seed", "when": "in 3 days"},
    )
    modal = await ix.modal(timeout=REPLY_TIMEOUT)
    submitted = await h.fake.submit_modal(h.guild, h.general, h.moderator, modal, {"description": "The seed."})
    preview = await submitted.reply(timeout=REPLY_TIMEOUT)
    schedule = [c for c in preview.custom_ids if c.startswith("release:schedule:")]
    assert schedule, f"no Schedule button on the preview: {preview.text!r}"
    await (await h.fake.click(h.guild, None, h.moderator, preview, schedule[0])).reply(timeout=REPLY_TIMEOUT)
    scheduled = (Release.title == "Seed", Release.status == ReleaseStatus.SCHEDULED)
    assert await _seed_rows(world.bot, Release, *scheduled) == 1

    await _seed_command(world, "party schedule", title="Seed", start="in 2 days", tracklist="A - 3:00")
    assert await _seed_rows(world.bot, ListeningParty, ListeningParty.title == "Seed") == 1

    await _seed_command(world, "roles-admin panel create", name="Seed", style="buttons", mode="any")
    assert await _seed_rows(world.bot, FanRolePanel, FanRolePanel.name == "Seed") == 1

    supporters = h.guild.add_role("Seed supporters")
    reply = await _seed_command(world, "supporters perk create", name="Seed", role=supporters, earned_by="membership")
    assert reply.content.startswith("Created the perk"), reply.text
    drops = h.guild.add_role("Seed drops")
    reply = await _seed_command(world, "drop-admin setup", role=drops, channel=h.general)
    assert "pinging" in reply.content, reply.text
    assert not h.fake.problems(), h.fake.problems()


def leaves(commands: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(path, options) of every runnable slash command, subcommands unfolded."""
    out: list[tuple[str, list[dict[str, Any]]]] = []

    def walk(options: list[dict[str, Any]], path: list[str]) -> None:
        subs = [o for o in options if o["type"] in (1, 2)]
        if not subs:
            out.append((" ".join(path), options))
        for sub in subs:
            walk(sub.get("options") or [], [*path, sub["name"]])

    for command in commands:
        if (command.get("type") or 1) == 1:
            walk(command.get("options") or [], [command["name"]])
    return out


def generate(options: list[dict[str, Any]], targets: Targets, examples: int) -> list[dict[str, Any]]:
    """Draw `examples` inputs with hypothesis (a fixed seed, so every run draws the same inputs)."""
    drawn: list[dict[str, Any]] = []

    @settings(
        max_examples=examples,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @seed(SEED)
    @given(command_inputs(options, targets))
    def collect(value: dict[str, Any]) -> None:
        drawn.append(value)

    collect()
    return drawn


async def table_counts(bot: LabelBot) -> dict[str, int]:
    async with bot.sessionmaker() as session:
        return {
            table.name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


def modal_values(modal: Any, targets: Targets, n: int) -> dict[str, str]:
    strings = nasty_strings(targets)
    values: dict[str, str] = {}
    for i, text_input in enumerate(modal.text_inputs):
        high = int(text_input.get("max_length") or 4000)
        low = int(text_input.get("min_length") or 0)
        fitting = [s for s in strings if low <= len(s) <= high and (s.strip() or not text_input.get("required", True))]
        values[text_input["custom_id"]] = fitting[(n * 7 + i * 3) % len(fitting)] if fitting else "x" * max(low, 1)
    return values


async def probe(world: World, path: str, options: dict[str, Any], user: FakeUser, n: int) -> list[Problem]:
    h = world.harness
    before = await table_counts(world.bot)
    refused = len(h.fake.refusals)
    problems: list[Problem] = []

    def problem(what: str) -> None:
        problems.append(Problem(path, user.name, options, what))

    try:
        ix = await interactions.slash(h.fake, h.guild, h.general, user, path, options)
    except AssertionError as exc:
        if HIDDEN in str(exc):
            return []  # the Discord client does not show this command to the member
        problem(f"the sweep drew an input the Discord client would not send: {exc}")
        return problems
    world.probes[path] = world.probes.get(path, 0) + 1

    seen: list[FakeInteraction] = [ix]
    try:
        await ix.wait_callback(timeout=REPLY_TIMEOUT)
        if ix.callback_type == 9:
            modal = await ix.modal()
            submitted = await h.fake.submit_modal(
                h.guild, h.general, user, modal, modal_values(modal, world.targets, n)
            )
            seen.append(submitted)
            await submitted.reply(timeout=REPLY_TIMEOUT)
        else:
            await ix.reply(timeout=REPLY_TIMEOUT)
    except (TimeoutError, AssertionError) as exc:
        problem(f"no answer ({exc})")
    # Followups may trail the first answer a little.
    await asyncio.sleep(0.05)
    for one in seen:
        for response in one.responses:
            if "reference `" in response.text:
                problem(f"apology with a reference: {response.text!r}")
        if one.late_callbacks:
            problem("answered after Discord's 3-second deadline")
    for r in h.fake.refusals[refused:]:
        problem(f"Discord refused a request: {r.method} {r.path} -> {r.status} {r.error}")
    said_no = [one for one in seen if world.failed.get(one.id) is False]
    if said_no:
        after = await table_counts(world.bot)
        changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
        if changed:
            problem(f"refused but the database changed (rows before, after): {changed}")
    return problems


AUTOCOMPLETE_TYPED = ["", " ", "\x00", "@everyone", "%", "_", "'", "\\", "ä" * 100, "9" * 30, "\u202eevil", "🎵"]


async def probe_autocomplete(
    world: World, path: str, options: list[dict[str, Any]], *, with_nul: bool
) -> list[Problem]:
    """Whatever a member types into an autocompleted option, the bot answers with choices (maybe none).

    A NUL character is typed into one option per group only: where it fails, it waits out the whole deadline.
    """
    h = world.harness
    problems: list[Problem] = []
    for option in (o for o in options if o.get("autocomplete")):
        typed_values = AUTOCOMPLETE_TYPED if with_nul else [t for t in AUTOCOMPLETE_TYPED if "\x00" not in t]
        with_nul = False
        for typed in typed_values:
            refused = len(h.fake.refusals)
            values = {option["name"]: typed}
            try:
                choices = await interactions.autocomplete(
                    h.fake, h.guild, h.general, world.owner, path, option["name"], values, AUTOCOMPLETE_TIMEOUT
                )
            except (TimeoutError, AssertionError) as exc:
                problems.append(Problem(path, world.owner.name, values, f"autocomplete gave no choices ({exc})"))
                continue
            if len(choices) > 25:
                problems.append(Problem(path, world.owner.name, values, f"{len(choices)} autocomplete choices"))
            if len(h.fake.refusals) > refused:
                errors = [(r.status, r.error) for r in h.fake.refusals[refused:]]
                problems.append(Problem(path, world.owner.name, values, f"autocomplete answer refused: {errors}"))
    return problems


def bot_messages(world: World) -> list[FakeMessage]:
    fake = world.fake
    out: list[FakeMessage] = []
    channels = [*world.harness.guild.channels, *world.harness.guild.threads]
    for channel in channels:
        out += fake.messages(channel)
    for user in [*world.targets.users, world.targets.victim_user]:
        out += fake.dms(user)
    for ix in fake.interactions:
        out += [r.message for r in ix.responses if r.message is not None]
    return [m for m in out if m.author_id == fake.bot_user.id]


def mention_leaks(world: World) -> list[str]:
    leaks = []
    victim, victim_role = world.targets.victim_user.id, world.targets.victim_role.id
    for m in bot_messages(world):
        allowed = m.allowed_mentions or {}
        where = f"message {m.id} in {m.channel_id} ({m.content[:80]!r})"
        if m.allowed_mentions is None:
            leaks.append(f"{where}: sent without allowed_mentions")
        if "everyone" in (allowed.get("parse") or []) or m.mention_everyone:
            leaks.append(f"{where}: may ping @everyone/@here ({allowed})")
        if victim in m.mentions or victim_role in m.mention_roles:
            leaks.append(f"{where}: pings someone only named in member-written text ({allowed})")
    return leaks


async def sweep(world: World, group: str, record_property: Any) -> None:
    commands = [c for c in leaves(world.fake.synced_commands(world.harness.guild)) if c[0].split()[0] == group]
    assert commands, f"/{group} is not synced"
    problems: list[Problem] = []
    nul_untried = True
    for path, options in commands:
        examples = generate(options, world.targets, min(EXAMPLES_MAX, 2 + len(options)))
        # A command without options has one possible input; calling it again is still a probe (of a repeat).
        examples += [examples[n % len(examples)] for n in range(max(0, MIN_PROBES + 1 - len(examples)))]
        for n, values in enumerate(examples):
            # Mostly the server owner (every path open), every third call a plain member (the refusals).
            user = world.member if n % 3 == 2 else world.owner
            problems += await probe(world, path, values, user, n)
        problems += await probe_autocomplete(world, path, options, with_nul=nul_untried)
        nul_untried = nul_untried and not any(o.get("autocomplete") for o in options)
    counts = {path: world.probes.get(path, 0) for path, _ in commands}
    record_property("sweep_probes", {f"{world.backend} /{path}": count for path, count in counts.items()})
    too_few = {path: count for path, count in counts.items() if count < MIN_PROBES}
    assert not too_few, f"commands reached fewer than {MIN_PROBES} times (probes per command): {too_few}"
    leaks = mention_leaks(world)
    known = [(g, what, match) for g, b, what, match in KNOWN_BUGS if g in (group, None) and b in (None, world.backend)]
    expected = [p for p in problems if any(match(p) for _, _, match in known)]
    report = [str(p) for p in problems if p not in expected] + leaks
    assert not report, f"{len(report)} problem(s) in /{group}:\n" + "\n".join(report)
    shown = [what for _, what, match in known if any(match(p) for p in expected)]
    if shown:
        pytest.xfail("known bug(s): " + "; ".join(shown))


async def test_every_synced_command_is_swept(world: World) -> None:
    synced = {c["name"] for c in world.fake.synced_commands(world.harness.guild) if (c.get("type") or 1) == 1}
    assert synced == set(GROUPS), f"add new commands to the sweep: {sorted(synced - set(GROUPS))}"


@pytest.mark.parametrize("group", GROUPS)
async def test_bad_input_never_shows_a_bug_or_pings_anyone(world: World, group: str, record_property: Any) -> None:
    await sweep(world, group, record_property)


# ---------------------------------------------------------------------------------------------------------------
# sweep findings pinned by an input that always shows them (strict xfail: these fail once the bug is fixed)
# ---------------------------------------------------------------------------------------------------------------
async def answer_text(world: World, path: str, **options: Any) -> str:
    h = world.harness
    ix = await interactions.slash(h.fake, h.guild, h.general, world.owner, path, options)
    return (await ix.reply(timeout=REPLY_TIMEOUT)).text


async def test_profile_show_of_someone_not_in_the_server_gets_a_sentence(world: World) -> None:
    # Found by the sweep: discord.py's Member conversion fails and used to reach members as an apology.
    outsider = next(u for u in world.targets.users if u.name == OUTSIDER)
    assert await answer_text(world, "profile show", member=outsider) == MEMBER_NOT_HERE


async def test_collab_close_filled_by_someone_not_in_the_server_gets_a_sentence(world: World) -> None:
    outsider = next(u for u in world.targets.users if u.name == OUTSIDER)
    assert await answer_text(world, "collab close", request=1, filled_by=outsider) == MEMBER_NOT_HERE


@pytest.mark.parametrize("path", ["artist info", "release create"])
async def test_an_artist_name_with_a_nul_character_gets_a_sentence(world: World, path: str) -> None:
    # Found by the sweep on PostgreSQL (asyncpg refuses NUL); fixed by dropping NUL at the database boundary.
    extra = {"title": "T", "when": "in 3 days"} if path == "release create" else {}
    # Nobody of that name (with or without the NUL): the lookup runs and the answer is a sentence on both backends.
    text = await answer_text(world, path, artist="No\x00body", **extra)
    assert "reference `" not in text
    assert "There is no artist called “No" in text, text


@pytest.mark.parametrize("path", ["artist info", "party info", "event info", "roles-admin panel post"])
async def test_autocomplete_with_a_nul_character_answers(world: World, path: str) -> None:
    # Found by the sweep on PostgreSQL: every lookup of the typed text failed; fixed at the database boundary.
    option = {"artist info": "artist", "party info": "party", "event info": "event", "roles-admin panel post": "panel"}[
        path
    ]
    h = world.harness
    choices = await interactions.autocomplete(
        h.fake, h.guild, h.general, world.owner, path, option, {option: "a\x00"}, AUTOCOMPLETE_TIMEOUT
    )
    assert isinstance(choices, list)
