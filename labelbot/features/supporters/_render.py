"""What the supporters feature shows: perk lines, a member's perks, figures, and the CSV files."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import discord

from labelbot.catalog.models import Release
from labelbot.features.supporters._service import EARNED_BY_WORDS
from labelbot.models.supporters import EarlyWindow, SupporterPerk
from labelbot.spreadsheet import spreadsheet_cell

LINE_LIMIT = 1900


def shown(text: str) -> str:
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def lasts(days: int | None) -> str:
    if days is None:
        return "kept for good"
    return f"lasts {days} day{'s' if days != 1 else ''}, renewals extend it"


def perk_line(perk: SupporterPerk) -> str:
    return f"**{shown(perk.name)}**: <@&{perk.role_id}>, earned by {EARNED_BY_WORDS[perk.earned_by]}, {lasts(perk.duration_days)}"


def clip_lines(lines: list[str]) -> str:
    text = ""
    for index, line in enumerate(lines):
        if len(text) + len(line) + 1 > LINE_LIMIT:
            return text + f"…and {len(lines) - index} more."
        text += line + "\n"
    return text.rstrip("\n")


def my_perk_line(name: str, role_id: int, since: datetime, until: datetime | None) -> str:
    end = (
        f"until {discord.utils.format_dt(until, 'F')} ({discord.utils.format_dt(until, 'R')})" if until else "for good"
    )
    return f"**{shown(name)}** (<@&{role_id}>): since {discord.utils.format_dt(since, 'D')}, {end}"


def codes_csv(perk_name: str, codes: list[str], expires_at: datetime | None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code", "perk", "expires_utc"])
    for code in codes:
        writer.writerow([code, spreadsheet_cell(perk_name), expires_at.isoformat() if expires_at else ""])
    return out.getvalue().encode()


def stats_csv(rows: list[dict[str, object]]) -> bytes:
    out = io.StringIO()
    fields = ["perk", "active", "new_this_month", "expiring_this_month", "codes_issued", "codes_redeemed"]
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    for row in rows:
        writer.writerow({key: spreadsheet_cell(row[key]) for key in fields})
    return out.getvalue().encode()


def order_codes_csv(made: list[tuple[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["order_id", "code"])
    for order_id, code in made:
        writer.writerow([spreadsheet_cell(order_id), code])
    return out.getvalue().encode()


AUDIT_TITLES = {
    "supporters.perk_create": "Supporter perk created",
    "supporters.perk_edit": "Supporter perk changed",
    "supporters.perk_remove": "Supporter perk removed",
    "supporters.codes_create": "Claim codes issued",
    "supporters.import": "Shop orders imported",
    "supporters.claim_throttled": "Member throttled after wrong claim codes",
    "supporters.early_window": "Supporters' early window set",
    "supporters.early_cancel": "Supporters' early window cancelled",
}


def listen_early(title: str, artist: str, role_id: int, links: str, public_at: datetime) -> str:
    """The listen-early post: the supporters' role, the private links, and when everyone else hears it."""
    lines = "\n".join(f"- <{link}>" for link in links.split())
    return (
        f"<@&{role_id}> **Listen early: {shown(title)}** by **{shown(artist)}**, before anyone else. "
        f"Please keep these links to yourselves:\n{lines}\n"
        f"Everyone else hears it {discord.utils.format_dt(public_at, 'F')}."
    )[:2000]


def window_state(window: EarlyWindow, now: datetime) -> str:
    if window.closed_at is not None:
        return "closed"
    if window.opened_at is not None:
        return "open"
    return "opening late" if window.opens_at <= now else "coming"


def window_line(window: EarlyWindow, release: Release, perk: SupporterPerk, now: datetime) -> str:
    """One early window in /supporters early list: its release, perk, channel, state, opening and closing."""
    opened = window.opened_at or window.opens_at
    closed = window.closed_at or window.closes_at
    closes = f", closes {discord.utils.format_dt(closed, 'f')}" if closed is not None else ", stays open"
    if window.closed_at is not None:
        closes = f", closed {discord.utils.format_dt(closed, 'f')}" if closed is not None else ""
    verb = "opens" if window.opened_at is None else "opened"
    return (
        f"#{window.id} **{shown(release.title)}** · **{shown(perk.name)}** in <#{window.channel_id}> "
        f"({window_state(window, now)}): {verb} {discord.utils.format_dt(opened, 'f')}{closes}"
    )
