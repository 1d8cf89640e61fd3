"""The web pages' documents from plain data: Atom, JSON, CSV, iCalendar. No database, no Discord."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from xml.etree import ElementTree as ET

import icalendar

from labelbot.features.web_pages._service import LabelPage, PublicGathering, PublicRelease, Table
from labelbot.registry import SettingDefault
from labelbot.spreadsheet import spreadsheet_cell

ATOM = "http://www.w3.org/2005/Atom"
RELEASE_LENGTH = timedelta(hours=1)


def atom_feed(page: LabelPage, base: str) -> bytes:
    """An Atom 1.0 feed of the label's announced releases, newest first."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    page_url = f"{base}/label/{page.guild_id}"

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
        if text is not None:
            element.text = text
        return element

    sub(feed, "id", f"{page_url}/releases.atom")
    sub(feed, "title", f"{page.name}: releases")
    sub(feed, "updated", page.last_modified.isoformat())
    sub(feed, "link", rel="self", href=f"{page_url}/releases.atom", type="application/atom+xml")
    sub(feed, "link", rel="alternate", href=page_url, type="text/html")
    author = sub(feed, "author")
    sub(author, "name", page.name)
    for release in page.announced:
        entry = sub(feed, "entry")
        sub(entry, "id", f"{page_url}/releases/{release.id}")
        sub(entry, "title", f"{release.artist} – {release.title}")
        sub(entry, "updated", release.updated_at.isoformat())
        sub(entry, "published", (release.announced_at or release.release_at).isoformat())
        sub(entry, "link", rel="alternate", href=f"{page_url}/artists/{release.artist_id}#release-{release.id}")
        for link in release.links:
            sub(entry, "link", rel="related", href=link.url, title=link.label)
        summary = f"{release.kind} by {release.artist}, out {release.release_at:%Y-%m-%d}."
        sub(entry, "summary", f"{summary} {release.description}" if release.description else summary)
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body


def json_document(page: LabelPage) -> bytes:
    return json.dumps(page.as_json(), ensure_ascii=False, indent=1).encode()


def csv_document(table: Table) -> bytes:
    """The table as CSV; member-written cells that a spreadsheet would run as formulas are made inert."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow([spreadsheet_cell(cell) for cell in row])
    # A byte-order mark, so spreadsheet apps read the names' accents as UTF-8.
    return ("\ufeff" + out.getvalue()).encode()


def calendar_document(page: LabelPage, base: str) -> bytes:
    """The public page's dates as iCalendar: what "add to calendar" subscribes to."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Labelbot//Label public calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", page.name)
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    items: list[PublicRelease | PublicGathering] = [*page.upcoming, *page.parties, *page.events]
    for item in items:
        event = icalendar.Event()
        if isinstance(item, PublicRelease):
            event.add("uid", f"release-{item.id}@labelbot")
            event.add("summary", f"{item.artist} – {item.title}")
            event.add("dtstart", item.release_at)
            event.add("dtend", item.release_at + RELEASE_LENGTH)
            event.add("categories", ["release"])
        else:
            event.add("uid", f"{item.kind}-{item.id}@labelbot")
            event.add("summary", item.title)
            event.add("dtstart", item.starts_at)
            event.add("dtend", item.ends_at)
            event.add("categories", [item.kind])
        event.add("dtstamp", page.last_modified)
        event.add("url", f"{base}/label/{page.guild_id}")
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def until_text(at: datetime, now: datetime) -> str:
    """How long until `at`, as the page shows it before its script makes it count live."""
    seconds = int((at - now).total_seconds())
    if seconds <= 0:
        return "now"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"in {days}d {hours}h"
    return f"in {hours}h {minutes}m" if hours else f"in {minutes}m"


# This feature's own server settings and what a new server starts with (registered in cog_load).
SETTING_DEFAULTS = (SettingDefault("web_page", False, "Public web page"),)
