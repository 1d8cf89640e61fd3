"""Approved means approved: where the server approves releases, an artist's change after approval waits for a
moderator, and what fans see changes only when one approves it (issue 14)."""

from __future__ import annotations

import asyncio

from labelbot.catalog.models import ReleaseStatus
from tests.e2e.test_releases import (  # noqa: F401 (page_server is a fixture)
    LONG,
    Label,
    approval_label,
    assert_pings_only,
    card_text,
    create,
    heading,
    jobs_of,
    page_server,
    release_id_of,
    release_row,
    schedule,
    wait_posts,
)
from tests.fakediscord import FakeMessage


async def _approve_submission(label: Label, release_id: int) -> None:
    request = await label.fake.wait_for_message(
        label.mod_log, lambda m: f"release:approve:{release_id}" in m.custom_ids, timeout=LONG
    )
    approved = await (await label.click(label.h.moderator, request, f"release:approve:{release_id}")).reply()
    assert "Approved" in approved.content


async def _change_request(label: Label, release_id: int, title: str) -> tuple[FakeMessage, str]:
    """The request in the mod log about the artist's change that shows `title`, and its Approve button's id."""
    prefix = f"release:approve-change:{release_id}:"
    request = await label.fake.wait_for_message(
        label.mod_log,
        lambda m: any(cid.startswith(prefix) for cid in m.custom_ids) and heading(m) == title,
        timeout=LONG,
    )
    return request, next(cid for cid in request.custom_ids if cid.startswith(prefix))


async def test_an_artists_change_of_an_announced_release_waits_for_a_moderator(
    approval_label: Label,  # noqa: F811
) -> None:
    label = approval_label
    preview = await create(label, label.nova, when="in 8 seconds")
    release_id = release_id_of(preview)
    await schedule(label, label.nova, preview)
    await _approve_submission(label, release_id)
    post = (await wait_posts(label, 1))[0]

    async def announced() -> bool:
        return (await release_row(label.h, release_id)).status == ReleaseStatus.ANNOUNCED

    for _ in range(100):
        if await announced():
            break
        await asyncio.sleep(0.2)
    assert await announced()

    # The artist retitles the live announcement: held, the post untouched, the moderators asked.
    answer = await (
        await label.slash(label.nova, "release edit", release=str(release_id), title="Afterglow (Deluxe)")
    ).reply()
    assert answer.ephemeral
    assert "Sent to the moderators" in answer.text
    assert heading(answer) == "Afterglow (Deluxe)"  # the artist sees their change
    request, approve_id = await _change_request(label, release_id, "Afterglow (Deluxe)")
    assert_pings_only(request, set())
    assert "title" in request.text_displays[0]
    live = label.fake.message(post.id)
    assert heading(live) == "Afterglow"
    assert live.edits == 0
    row = await release_row(label.h, release_id)
    assert (row.title, row.status) == ("Afterglow", ReleaseStatus.ANNOUNCED)

    # Only a moderator can let it through; then the post shows it.
    own = await (await label.click(label.nova, request, approve_id)).reply()
    assert "moderators" in own.content.lower()
    assert heading(label.fake.message(post.id)) == "Afterglow"
    approved = await (await label.click(label.h.moderator, request, approve_id)).reply()
    assert "Approved" in approved.content
    await label.h.wait_until(lambda: heading(label.fake.message(post.id)) == "Afterglow (Deluxe)", timeout=LONG)
    assert (await release_row(label.h, release_id)).title == "Afterglow (Deluxe)"
    await label.fake.wait_for_dm(label.nova.user, lambda m: "was approved" in m.content, timeout=LONG)

    # Two changes in a row: the newer one replaces the older request, and is rejected.
    await (await label.slash(label.nova, "release edit", release=str(release_id), title="Afterglow II")).reply()
    older, older_approve = await _change_request(label, release_id, "Afterglow II")
    nitro = "FREE NITRO click the link"
    await (await label.slash(label.nova, "release edit", release=str(release_id), title=nitro)).reply()
    newer, _ = await _change_request(label, release_id, nitro)
    # The older request can no longer be approved: its buttons go, and it says why.
    await label.h.wait_until(
        lambda: (
            older_approve not in label.fake.message(older.id).custom_ids
            and "Replaced" in label.fake.message(older.id).text
        ),
        timeout=LONG,
    )
    reject_id = next(cid for cid in newer.custom_ids if cid.startswith(f"release:reject-change:{release_id}:"))
    modal = await (await label.click(label.h.moderator, newer, reject_id)).modal()
    done = await label.fake.submit_modal(
        label.h.guild, label.mod_log, label.h.moderator, modal, {"reason": "Links in titles are not allowed."}
    )
    assert "Rejected" in (await done.reply()).content
    await label.fake.wait_for_dm(
        label.nova.user, lambda m: "Links in titles are not allowed." in m.content, timeout=LONG
    )
    edits = label.fake.message(post.id).edits
    await asyncio.sleep(1.5)
    live = label.fake.message(post.id)
    assert heading(live) == "Afterglow (Deluxe)"
    assert live.edits == edits
    row = await release_row(label.h, release_id)
    assert (row.title, row.pending_edit) == ("Afterglow (Deluxe)", None)

    # A moderator's own change needs nobody's approval.
    changed = await (
        await label.slash(label.h.moderator, "release edit", release=str(release_id), kind="album")
    ).reply()
    assert "being updated" in changed.text
    await label.h.wait_until(lambda: "· Album" in card_text(label.fake.message(post.id)), timeout=LONG)
    label.fake.assert_no_rejections()


async def test_use_this_cover_on_an_approved_release_sends_it_back_for_approval(
    approval_label: Label,  # noqa: F811
    page_server: str,  # noqa: F811
) -> None:
    label = approval_label
    links = f"Bandcamp {page_server}/album/afterglow"
    preview = await create(label, label.nova, when="in 2 hours", details={"links": links})
    release_id = release_id_of(preview)
    assert f"release:cover:{release_id}" in preview.custom_ids
    await schedule(label, label.nova, preview)
    await _approve_submission(label, release_id)
    assert (await release_row(label.h, release_id)).status == ReleaseStatus.SCHEDULED

    answer = await (await label.click(label.nova, preview, f"release:cover:{release_id}")).reply()
    row = await release_row(label.h, release_id)
    assert row.cover_url == f"{page_server}/art/afterglow.jpg"
    assert row.status == ReleaseStatus.DRAFT  # nothing goes out with a cover no moderator saw
    assert [job.status for job in await jobs_of(label.h, f"release:{release_id}:announce")] == ["cancelled"]
    assert f"release:schedule:{release_id}" in answer.custom_ids

    sent = await (await label.click(label.nova, answer, f"release:schedule:{release_id}")).reply()
    assert "approval" in sent.content
    request = await label.fake.wait_for_message(
        label.mod_log,
        lambda m: (
            f"release:approve:{release_id}" in m.custom_ids and f"{page_server}/art/afterglow.jpg" in m.media_urls
        ),
        timeout=LONG,
    )
    assert heading(request) == "Afterglow"
    assert label.posts() == []
