"""Hypothesis strategies of bad values for each kind of slash-command option, built from the synced schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from tests.fakediscord import FakeChannel, FakeRole, FakeUser

# Discord lets a string option carry up to 6,000 characters.
DISCORD_STRING_MAX = 6000
DISCORD_INT_MAX = 2**53


@dataclass
class Targets:
    """The things of the server that option values may point at; the victims are only ever written in text."""

    users: list[FakeUser]
    roles: list[FakeRole]
    channels: list[FakeChannel]
    victim_user: FakeUser
    victim_role: FakeRole
    existing: list[str] = field(default_factory=list)  # names of seeded things, so lookups also find something


def nasty_strings(targets: Targets) -> list[str]:
    """Text a member might type, on purpose or not."""
    return [
        "",
        " ",
        "\n\n\t",
        "@everyone",
        "@here listen up",
        f"<@&{targets.victim_role.id}> new drop",
        f"<@{targets.victim_user.id}>",
        f"<@!{targets.victim_user.id}> hi @everyone",
        "**bold** __under__ ~~strike~~ ||spoiler|| # Heading\n> quote",
        "```py\nprint('hi')\n```",
        "` `` ``` ````",
        "\u202eevil\u202c mirrored",
        "مرحبا بالعالم — ألبوم جديد",
        "שלום עולם",
        "👩‍👩‍👧‍👦🎵🔥" * 5,
        "Z̷̢͉a̸̛͖l̶͈̇g̵̱̈́o̸̪͝",
        "\x00\x07",
        "1900-01-01 00:00",
        "0001-01-01",
        "9999-12-31 23:59",
        "in 1000 years",
        "yesterday",
        "5 minutes ago",
        "-5",
        "-999999999999",
        "99999999999999999999999",
        "NaN",
        "0:00",
        "-1:00 | a - -5:00 | b - 99999:99",
        "Mars/Olympus_Mons",
        "javascript:alert(1)",
        "http://127.0.0.1:9/nothing",
        "%s %d {0} {name} $1",
        "'; DROP TABLE releases; --",
        "0",
        "1",
        "999999999",
        *targets.existing,
    ]


def _fits(text: str, opt: dict[str, Any]) -> bool:
    low = opt.get("min_length")
    high = opt.get("max_length", DISCORD_STRING_MAX)
    return (low is None or len(text) >= int(low)) and len(text) <= int(high)


def string_values(opt: dict[str, Any], targets: Targets) -> st.SearchStrategy[str]:
    if opt.get("choices"):
        return st.sampled_from([c["value"] for c in opt["choices"]])
    high = int(opt.get("max_length", DISCORD_STRING_MAX))
    low = int(opt.get("min_length") or 0)
    fixed = [s for s in nasty_strings(targets) if _fits(s, opt)]
    overlong = "ä" * high  # as long as the client lets it be
    options: list[st.SearchStrategy[str]] = [st.sampled_from(fixed)] if fixed else []
    options += [
        st.just(overlong),
        st.text(st.characters(codec="utf-8"), min_size=max(low, 1), max_size=min(high, 40)),
    ]
    return st.one_of(*options)


def int_values(opt: dict[str, Any], *, number: bool = False) -> st.SearchStrategy[Any]:
    low = opt.get("min_value")
    high = opt.get("max_value")
    edges: list[float] = [-1, 0, -(10**6), 10**9, -DISCORD_INT_MAX, DISCORD_INT_MAX]
    if low is not None:
        edges.append(low)
    if high is not None:
        edges.append(high)
    edges = [e for e in edges if (low is None or e >= low) and (high is None or e <= high)]
    if number:
        edges += [x + 0.5 for x in edges if (high is None or x + 0.5 <= high)]
    return st.sampled_from(sorted(set(edges)))


def option_values(opt: dict[str, Any], targets: Targets) -> st.SearchStrategy[Any]:
    kind = opt["type"]
    if kind == 3:
        return string_values(opt, targets)
    if kind == 4:
        return int_values(opt)
    if kind == 10:
        return int_values(opt, number=True)
    if kind == 5:
        return st.booleans()
    if kind == 6:
        return st.sampled_from(targets.users)
    if kind == 7:
        allowed = opt.get("channel_types")
        channels = [c for c in targets.channels if not allowed or int(c.type) in allowed]
        return st.sampled_from(channels)
    if kind == 8:
        return st.sampled_from(targets.roles)
    if kind == 9:
        return st.sampled_from([*targets.users, *targets.roles])
    if kind == 11:
        return st.sampled_from(
            [("cover.png", b"this is not a png"), ("../../etc/passwd", b"\x00" * 10), ("big.jpg", b"\xff" * 200_000)]
        )
    raise AssertionError(f"unknown option type {kind}")


def command_inputs(options: list[dict[str, Any]], targets: Targets) -> st.SearchStrategy[dict[str, Any]]:
    """Every required option, and each optional one present or not."""
    required = {o["name"]: option_values(o, targets) for o in options if o.get("required")}
    optional = {o["name"]: option_values(o, targets) for o in options if not o.get("required")}
    return st.fixed_dictionaries(required, optional=optional)
