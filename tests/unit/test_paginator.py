"""Pages fit Discord's limits, and the paginator's buttons follow the page shown."""

from __future__ import annotations

import pytest

from labelbot.ui.paginator import PAGE_CHARACTERS, Paginator, pages_of_lines


def test_lines_are_split_by_count_and_by_size() -> None:
    pages = pages_of_lines("Artists", [f"line {n}" for n in range(25)], per_page=10)
    assert [page.description.count("\n") + 1 for page in pages if page.description] == [10, 10, 5]

    long_lines = ["x" * 1000] * 9
    pages = pages_of_lines("Artists", long_lines, per_page=10)
    assert all(len(page.description or "") <= PAGE_CHARACTERS for page in pages)
    assert sum((page.description or "").count("x") for page in pages) == 9000

    [huge] = pages_of_lines("Artists", ["y" * 10_000])
    assert len(huge.description or "") == PAGE_CHARACTERS


def test_an_empty_list_is_one_page_that_says_so() -> None:
    [page] = pages_of_lines("Artists", [], empty="No artists yet.")
    assert page.description == "No artists yet."


async def test_buttons_follow_the_page() -> None:
    paginator = Paginator(1, pages_of_lines("Artists", [str(n) for n in range(25)], per_page=10))
    assert paginator.previous_page.disabled
    assert not paginator.next_page.disabled
    assert paginator.counter.label == "1 / 3"
    assert paginator.page.footer.text == "Page 1 of 3"
    paginator.index = 2
    paginator._update_buttons()
    assert paginator.next_page.disabled
    assert paginator.counter.label == "3 / 3"
    custom_ids = [paginator.previous_page.custom_id, paginator.counter.custom_id, paginator.next_page.custom_id]
    assert all(custom_id and len(custom_id) <= 100 for custom_id in custom_ids)
    assert len(set(custom_ids)) == 3


async def test_a_paginator_needs_a_page() -> None:
    with pytest.raises(ValueError, match="at least one page"):
        Paginator(1, [])
