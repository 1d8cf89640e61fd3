"""/artist end to end: the roster, fan roles, managers, and refusals that leave no trace."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from labelbot.artists.models import Artist
from labelbot.db.base import utcnow
from labelbot.permissions import MODERATORS_ONLY
from tests.e2e.helpers import (
    NO_PINGS,
    audit_entries,
    audit_posts_done,
    database_state,
    embed_fields,
    guild_state,
    run,
    running,
    slash,
    table_rows,
)
from tests.fakediscord import Permissions
from tests.harness import BotHarness

NOVA_LINKS = "Bandcamp https://novalights.bandcamp.com, https://open.spotify.com/artist/nova"


async def add_nova(harness: BotHarness, **options: Any) -> None:
    reply = await run(
        harness,
        harness.moderator,
        "artist-admin add",
        name="Nova Lights",
        bio="Synths from a lighthouse.",
        genres="synthwave, Ambient, synthwave",
        links=NOVA_LINKS,
        **options,
    )
    assert "is on the roster" in reply.content, reply.content


async def test_adding_an_artist_creates_its_fan_role_and_info_shows_the_profile(labelbot: BotHarness) -> None:
    guild, fake = labelbot.guild, labelbot.fake
    mod_log = guild.add_channel("mod-log")
    await run(labelbot, labelbot.moderator, "settings channel", kind="mod_log", channel=mod_log)
    roles_before = {role.id for role in guild.roles}

    await add_nova(labelbot)

    new_roles = [role for role in guild.roles if role.id not in roles_before]
    assert [role.name for role in new_roles] == ["Nova Lights"]
    fan_role = new_roles[0]
    assert fan_role.permissions == 0
    assert fan_role.mentionable is False
    [artist] = await table_rows(labelbot, Artist)
    assert artist["fan_role_id"] == fan_role.id
    assert artist["fan_role_created_by_bot"] is True
    assert artist["genres"] == ["synthwave", "Ambient"]
    assert artist["links"] == [
        {"label": "Bandcamp", "url": "https://novalights.bandcamp.com"},
        {"label": "Spotify", "url": "https://open.spotify.com/artist/nova"},
    ]

    # Two fans hold the role; the bot has no members intent, so Discord's role member counts tell it.
    for name in ("fan-one", "fan-two"):
        guild.add_member(name, roles=[fan_role])
    reply = await run(labelbot, labelbot.moderator, "artist info", artist="nova lights")
    assert reply.allowed_mentions == NO_PINGS
    embed = reply.embeds[0]
    assert embed["title"] == "Nova Lights"
    assert embed["description"] == "Synths from a lighthouse."
    fields = embed_fields(reply)
    assert fields["Genres"] == "synthwave, Ambient"
    assert fields["Fan role"] == fan_role.mention
    assert fields["Fans"] == "2", "without the members intent the bot counts fans through role member counts"
    assert fake.requests_to("/guilds/{guild_id}/roles/member-counts", "GET")
    assert "[Bandcamp](https://novalights.bandcamp.com)" in fields["Links"]

    entries = [e for e in await audit_entries(labelbot) if e.action == "artist.add"]
    assert len(entries) == 1
    assert entries[0].before is None
    assert entries[0].after is not None
    assert entries[0].after["name"] == "Nova Lights"
    await labelbot.wait_until(lambda: audit_posts_done(labelbot, 2), timeout=15)
    assert [m.embeds[0]["title"] for m in fake.messages(mod_log)] == ["Channel setting changed", "Artist added"]


async def test_an_existing_role_can_be_the_fan_role_unless_I_cannot_hand_it_out(harness: BotHarness) -> None:
    guild = harness.guild
    assert guild.bot_role is not None
    fans = guild.add_role("Nova fans")
    admins = guild.add_role("Admins", permissions=Permissions.ADMINISTRATOR)
    kickers = guild.add_role("Kickers", permissions=Permissions.KICK_MEMBERS)
    above = guild.add_role("Above me", position=guild.bot_role.position + 1)
    await harness.start()
    mod = harness.moderator
    before = await database_state(harness), guild_state(guild)

    for role, expected in [
        (admins, "has powerful permissions (administrator)"),
        (kickers, "has powerful permissions (kick members)"),
        (above, "is at or above my highest role"),
        (guild.bot_role, "is managed by an integration"),
        (guild.everyone, "@everyone can't be used as a role here."),
    ]:
        reply = await run(harness, mod, "artist-admin add", name="Nova Lights", fan_role=role)
        assert reply.ephemeral
        assert expected in reply.content, (role.name, reply.content)
    assert (await database_state(harness), guild_state(guild)) == before

    roles_before = guild_state(guild)["roles"]
    reply = await run(harness, mod, "artist-admin add", name="Nova Lights", fan_role=fans)
    assert reply.content == f"**Nova Lights** is on the roster. Its fan role is {fans.mention}."
    assert guild_state(guild)["roles"] == roles_before, "no role is created when one is picked"

    before = await database_state(harness), guild_state(guild)
    reply = await run(harness, mod, "artist-admin add", name="Echo Park", fan_role=fans)
    assert reply.content == f"{fans.mention} already is the fan role of Nova Lights."
    assert (await database_state(harness), guild_state(guild)) == before


async def test_duplicate_names_unknown_artists_and_bad_links_are_refused_without_a_trace(labelbot: BotHarness) -> None:
    guild, mod = labelbot.guild, labelbot.moderator
    await add_nova(labelbot)
    before = await database_state(labelbot), guild_state(guild)

    reply = await run(labelbot, mod, "artist-admin add", name="  NOVA   lights ")
    assert reply.ephemeral
    assert reply.content == "There already is an artist called “Nova Lights” in this server."
    reply = await run(labelbot, mod, "artist info", artist="Nobody Here")
    assert reply.content == "There is no artist called “Nobody Here” in this server."
    reply = await run(labelbot, mod, "artist-admin link", artist="Nobody Here", member=mod)
    assert reply.content == "There is no artist called “Nobody Here” in this server."
    reply = await run(labelbot, mod, "artist-admin add", name="Echo Park", links="Site ftp://echo.example")
    assert reply.content == 'The link ("ftp://echo.example") is not an http or https address.'
    reply = await run(labelbot, mod, "artist-admin add", name="Echo Park", links="my site www.echo.example")
    assert reply.content.startswith("I couldn't find a web address for “my site www.echo.example”")
    reply = await run(labelbot, mod, "artist-admin add", name="@everyone")
    assert reply.content == "An artist's name can't contain @everyone, @here or mentions."

    assert (await database_state(labelbot), guild_state(guild)) == before
    labelbot.fake.assert_no_rejections()


async def test_no_orphan_role_when_saving_the_artist_fails(
    labelbot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The module the running bot loaded: discord.py loads an extension into a fresh module without rebinding the
    # `labelbot.features` package's attribute, so after earlier bots came and went `import labelbot.features.artists._cog` may name an old one.
    artist_cog = sys.modules["labelbot.features.artists._cog"]

    async def database_gone(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(artist_cog, "add_artist", database_gone)
    guild = labelbot.guild
    before = await database_state(labelbot), guild_state(guild)

    reply = await run(labelbot, labelbot.moderator, "artist-admin add", name="Nova Lights")
    assert "nothing was changed" in reply.content
    created = labelbot.fake.requests_to("/guilds/{guild_id}/roles", "POST")
    assert len(created) == 1, "the role was made before saving..."
    await labelbot.wait_until(lambda: guild_state(guild) == before[1])  # ...and deleted again
    assert await database_state(labelbot) == before[0]


async def test_linked_managers_may_edit_their_artist_and_nobody_else_may(labelbot: BotHarness) -> None:
    guild, fake, mod = labelbot.guild, labelbot.fake, labelbot.moderator
    alice = guild.add_member(fake.add_user("alice"))
    bob = guild.add_member(fake.add_user("bob"))
    await add_nova(labelbot)
    await run(labelbot, mod, "artist-admin add", name="Echo Park")
    await run(labelbot, mod, "artist-admin add", name="Quiet Harbour")

    reply = await run(labelbot, mod, "artist-admin link", artist="Nova Lights", member=alice)
    assert reply.content == f"{alice.user.mention} now manages **Nova Lights**."
    reply = await run(labelbot, mod, "artist-admin link", artist="echo park", member=alice)
    assert reply.content == f"{alice.user.mention} now manages **Echo Park**."
    reply = await run(labelbot, mod, "artist-admin link", artist="Nova Lights", member=alice)
    assert reply.content == f"{alice.user.mention} already manages Nova Lights."

    # The manager passes the artist-of check for her artists: bio, genres and links are hers to change.
    reply = await run(labelbot, alice, "artist edit", artist="Nova Lights", bio="New bio.", links="-")
    assert reply.content == "Updated **Nova Lights**: bio, links."
    reply = await run(labelbot, alice, "artist edit", artist="Quiet Harbour", bio="Not mine.")
    assert reply.content == "Only Quiet Harbour's managers and moderators can do that."
    reply = await run(labelbot, bob, "artist edit", artist="Nova Lights", bio="Hijacked.")
    assert reply.content == "Only Nova Lights's managers and moderators can do that."
    reply = await run(labelbot, alice, "artist edit", artist="Nova Lights", name="Nova")
    assert reply.content == "Only moderators can rename an artist or change its fan role or colour."
    # Past Discord's client hint (an admin may open it to everyone in Integrations): the bot still refuses.
    labelbot.guild.open_command("artist-admin", labelbot.guild.everyone)
    for command, options in [
        ("artist-admin link", {"artist": "Nova Lights", "member": bob}),
        ("artist-admin unlink", {"artist": "Nova Lights", "member": alice}),
        ("artist-admin add", {"name": "Bob's Band"}),
        ("artist-admin remove", {"artist": "Nova Lights"}),
    ]:
        reply = await run(labelbot, alice, command, **options)
        assert reply.content == MODERATORS_ONLY, command

    # Autocomplete offers a manager her own artists, and a moderator all of them.
    mine = await fake.autocomplete(guild, labelbot.general, alice, "artist edit", focused="artist", artist="")
    assert [c["value"] for c in mine] == ["Echo Park", "Nova Lights"]
    everyone = await fake.autocomplete(guild, labelbot.general, mod, "artist edit", focused="artist", artist="")
    assert [c["value"] for c in everyone] == ["Echo Park", "Nova Lights", "Quiet Harbour"]
    found = await fake.autocomplete(guild, labelbot.general, bob, "artist info", focused="artist", artist="ar")
    assert [c["value"] for c in found] == ["Echo Park", "Quiet Harbour"], "name prefix first, then contained"

    reply = await run(labelbot, mod, "artist info", artist="Nova Lights")
    assert alice.user.mention in embed_fields(reply)["Managers"]
    assert embed_fields(reply)["Links"] == "—"

    reply = await run(labelbot, mod, "artist-admin unlink", artist="Nova Lights", member=alice)
    assert reply.content == f"{alice.user.mention} no longer manages **Nova Lights**."
    reply = await run(labelbot, mod, "artist-admin unlink", artist="Nova Lights", member=alice)
    assert reply.content == f"{alice.user.mention} isn't a manager of Nova Lights."
    reply = await run(labelbot, alice, "artist edit", artist="Nova Lights", bio="Still mine?")
    assert reply.content == "Only Nova Lights's managers and moderators can do that."

    actions = [e.action for e in await audit_entries(labelbot)]
    assert actions == ["artist.add"] * 3 + ["artist.link"] * 2 + ["artist.edit", "artist.unlink"]


async def test_a_moderator_renames_an_artist_and_its_fan_role_follows(labelbot: BotHarness) -> None:
    await add_nova(labelbot)
    reply = await run(labelbot, labelbot.moderator, "artist edit", artist="Nova Lights", name="Nova Lights Duo")
    assert reply.content == "Updated **Nova Lights Duo**: name."
    assert "Nova Lights Duo" in [role.name for role in labelbot.guild.roles]
    [entry] = [e for e in await audit_entries(labelbot) if e.action == "artist.edit"]
    assert entry.before is not None
    assert entry.after is not None
    assert (entry.before["name"], entry.after["name"]) == ("Nova Lights", "Nova Lights Duo")


async def test_list_pages_through_the_roster_with_buttons_only_its_owner_can_use(labelbot: BotHarness) -> None:
    bot, guild, fake = running(labelbot), labelbot.guild, labelbot.fake
    bob = guild.add_member(fake.add_user("bob"))
    async with bot.sessionmaker.begin() as session:
        for number in range(1, 24):
            name = f"Artist {number:02d}"
            session.add(
                Artist(
                    guild_id=guild.id,
                    name=name,
                    name_key=name.lower(),
                    created_by=labelbot.moderator.id,
                    genres=[],
                    links=[],
                )
            )

    reply = await run(labelbot, bob, "artist list")
    assert reply.ephemeral
    assert reply.embeds[0]["description"].count("\n") == 9
    assert "Artist 01" in reply.embeds[0]["description"]
    assert reply.embeds[0]["footer"]["text"] == "Page 1 of 3"
    previous, _counter, following = reply.custom_ids
    buttons = {button["custom_id"]: button for row in reply.components for button in row["components"]}
    assert buttons[previous].get("disabled") is True, "no going back from the first page"

    page = await (await fake.click(guild, labelbot.general, bob, reply, following)).reply()
    assert "Artist 11" in page.embeds[0]["description"]
    assert page.embeds[0]["footer"]["text"] == "Page 2 of 3"

    stranger = await fake.click(guild, labelbot.general, labelbot.moderator, reply, following)
    refusal = await stranger.reply()
    assert refusal.ephemeral
    assert refusal.content.startswith("These buttons belong to the member who used the command")
    assert fake.message(reply.id or 0).embeds[0]["footer"]["text"] == "Page 2 of 3"

    page = await (await fake.click(guild, labelbot.general, bob, reply, previous)).reply()
    assert page.embeds[0]["footer"]["text"] == "Page 1 of 3"


async def test_removing_asks_first_keeps_history_and_may_delete_the_bots_role(labelbot: BotHarness) -> None:
    guild, fake, mod = labelbot.guild, labelbot.fake, labelbot.moderator
    await add_nova(labelbot)
    fan_role = guild.role("Nova Lights")
    before = await database_state(labelbot), guild_state(guild)

    prompt = await run(labelbot, mod, "artist-admin remove", artist="Nova Lights")
    assert prompt.ephemeral
    assert "Remove **Nova Lights** from the roster?" in prompt.content
    cancel = next(custom_id for custom_id in prompt.custom_ids if custom_id.endswith(":cancel"))
    await fake.click(guild, labelbot.general, mod, prompt, cancel)
    await fake.wait_until(lambda: fake.message(prompt.id or 0).content == "Nothing was removed.", what="the answer")
    assert (await database_state(labelbot), guild_state(guild)) == before

    prompt = await run(labelbot, mod, "artist-admin remove", artist="Nova Lights")
    delete = next(custom_id for custom_id in prompt.custom_ids if custom_id.endswith(":delete_role"))
    await fake.click(guild, labelbot.general, mod, prompt, delete)
    await fake.wait_until(
        lambda: "was removed from the roster" in fake.message(prompt.id or 0).content, what="the removal"
    )
    assert "Its fan role was deleted." in fake.message(prompt.id or 0).content
    assert fan_role.id not in [role.id for role in guild.roles]

    [row] = await table_rows(labelbot, Artist)
    assert row["removed_at"] is not None, "the artist's row stays, marked removed"
    reply = await run(labelbot, mod, "artist info", artist="Nova Lights")
    assert reply.content == "There is no artist called “Nova Lights” in this server."
    [entry] = [e for e in await audit_entries(labelbot) if e.action == "artist.remove"]
    assert entry.after == {"id": row["id"], "removed": True, "fan_role_deleted": True}

    # The name is free again; the removed artist's history stays beside the new one.
    await add_nova(labelbot)
    assert len(await table_rows(labelbot, Artist)) == 2


async def test_removing_an_artist_keeps_a_role_the_moderator_picked(harness: BotHarness) -> None:
    guild, fake = harness.guild, harness.fake
    fans = guild.add_role("Nova fans")
    await harness.start()
    await run(harness, harness.moderator, "artist-admin add", name="Nova Lights", fan_role=fans)

    prompt = await run(harness, harness.moderator, "artist-admin remove", artist="Nova Lights")
    assert not [custom_id for custom_id in prompt.custom_ids if custom_id.endswith(":delete_role")]
    assert f"Its fan role {fans.mention} stays." in prompt.content
    remove = next(custom_id for custom_id in prompt.custom_ids if custom_id.endswith(":keep_role"))
    await fake.click(guild, harness.general, harness.moderator, prompt, remove)
    await fake.wait_until(lambda: "was removed" in fake.message(prompt.id or 0).content, what="the removal")
    assert fans.id in [role.id for role in guild.roles]
    [row] = await table_rows(harness, Artist)
    assert row["removed_at"] is not None
    assert row["removed_at"] <= utcnow()


async def test_only_the_moderator_who_asked_can_answer_the_removal(labelbot: BotHarness) -> None:
    guild, fake = labelbot.guild, labelbot.fake
    other = guild.add_member(
        fake.add_user("other-mod"), roles=[guild.add_role("Admins", permissions=Permissions.ADMINISTRATOR)]
    )
    await add_nova(labelbot)
    ix = await slash(labelbot, labelbot.moderator, "artist-admin remove", artist="Nova Lights")
    prompt = await ix.reply()
    keep = next(custom_id for custom_id in prompt.custom_ids if custom_id.endswith(":keep_role"))
    refusal = await (await fake.click(guild, labelbot.general, other, prompt, keep)).reply()
    assert refusal.content.startswith("These buttons belong to the member who used the command")
    [row] = await table_rows(labelbot, Artist)
    assert row["removed_at"] is None
