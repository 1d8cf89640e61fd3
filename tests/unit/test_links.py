"""One reader of "Bandcamp https://…" links for every feature (labelbot.links)."""

from __future__ import annotations

import pytest

from labelbot.errors import InvalidInput
from labelbot.links import Link, format_links, parse_links

LIMITS = {"owner": "A thing", "most": 3, "url_max": 100, "label_max": 20}


def test_lines_and_commas_both_separate_links_and_labels_may_hold_commas() -> None:
    text = "Shop, vinyl https://shop.example/lp,\nhttps://nova.bandcamp.com/album/a, Pre-save: https://feature.fm/x"
    assert parse_links(text, **LIMITS) == [
        Link("Shop, vinyl", "https://shop.example/lp"),
        Link("Bandcamp", "https://nova.bandcamp.com/album/a"),
        Link("Pre-save", "https://feature.fm/x"),
    ]
    assert parse_links(format_links(parse_links(text, **LIMITS)), **LIMITS) == parse_links(text, **LIMITS)


def test_the_sentence_around_an_address_is_not_part_of_it() -> None:
    assert parse_links("Wiki https://wiki.example/Nova_(band).", **LIMITS) == [
        Link("Wiki", "https://wiki.example/Nova_(band)")
    ]
    assert parse_links("(see https://nova.example/x)", **LIMITS) == [Link("(see", "https://nova.example/x")]
    assert [link.url for link in parse_links("https://a.example,https://b.example", **LIMITS)] == [
        "https://a.example",
        "https://b.example",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Shop javascript:alert(1)", 'The link ("javascript:alert(1)") is not an http or https address.'),
        ("Mail mailto:a@b.example", 'The link ("mailto:a@\u200bb.example") is not an http or https address.'),
        ("my site www.nova.example", "I couldn't find a web address for “my site www.nova.example”"),
        ("https://a.example https://b.example https://c.example https://d.example", "A thing can have at most 3"),
        ("x" * 21 + " https://a.example", "A link's label can be at most 20 characters"),
        ("https://a.example/" + "a" * 100, "A link can be at most 100 characters long."),
        ("Nova @everyone", "I couldn't find a web address for “Nova @\u200beveryone”"),
    ],
)
def test_what_is_not_a_link_is_refused_in_a_sentence(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_links(text, **LIMITS)
    assert refused.value.message.startswith(message)
