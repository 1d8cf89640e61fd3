"""What /artist accepts as a name, bio, genres and links, and the one sentence it answers otherwise."""

from __future__ import annotations

import pytest

from labelbot.artists.repository import name_key
from labelbot.errors import InvalidInput
from labelbot.features.artists._service import ArtistDraft, clean_bio, clean_name, parse_genres, parse_links


def test_names_are_trimmed_and_compared_without_case_or_extra_spaces() -> None:
    assert clean_name("  Nova   Lights ") == "Nova Lights"
    assert name_key("NOVA  lights") == name_key("nova lights") == "nova lights"
    assert name_key("Straße") == name_key("STRASSE")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("   ", "An artist needs a name."),
        ("x" * 101, "An artist's name can be at most 100 characters."),
        ("@everyone", "An artist's name can't contain @everyone, @here or mentions."),
        ("DJ <@&123456789012345678>", "An artist's name can't contain @everyone, @here or mentions."),
    ],
)
def test_bad_names(name: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        clean_name(name)
    assert refused.value.message == message


def test_bio_dash_clears_and_length_is_capped() -> None:
    assert clean_bio(" Synths. ") == "Synths."
    assert clean_bio("-") is None
    with pytest.raises(InvalidInput, match="at most 1000 characters"):
        clean_bio("x" * 1001)


def test_genres_are_split_deduplicated_and_capped() -> None:
    assert parse_genres("synthwave, Ambient,  SYNTHWAVE ,, lo-fi  hip hop") == ["synthwave", "Ambient", "lo-fi hip hop"]
    assert parse_genres("-") == []
    with pytest.raises(InvalidInput, match="at most 10 genres"):
        parse_genres(",".join(f"genre {n}" for n in range(11)))
    with pytest.raises(InvalidInput, match="at most 40 characters"):
        parse_genres("x" * 41)


def test_links_take_labels_commas_lines_and_default_to_the_site() -> None:
    links = parse_links(
        "Bandcamp https://nova.bandcamp.com, Spotify: https://open.spotify.com/artist/1?si=a\nhttps://www.nova.example/"
    )
    assert links == [
        {"label": "Bandcamp", "url": "https://nova.bandcamp.com"},
        {"label": "Spotify", "url": "https://open.spotify.com/artist/1?si=a"},
        {"label": "nova.example", "url": "https://www.nova.example/"},
    ]
    assert parse_links("-") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Site ftp://nova.example", 'The link ("ftp://nova.example") is not an http or https address.'),
        ("javascript://alert(1)", 'The link ("javascript://alert(1)") is not an http or https address.'),
        ("my site www.nova.example", "I couldn't find a web address for “my site www.nova.example”"),
        ("https://nova.example trailing words", "I couldn't find a web address for “trailing words”"),
        (
            ", ".join(f"https://nova.example/{n}" for n in range(11)),
            "An artist can have at most 10 links; this one has 11.",
        ),
        ("x" * 41 + " https://nova.example", "A link's label can be at most 40 characters"),
        ("https://nova.example/" + "a" * 300, "A link can be at most 300 characters long."),
    ],
)
def test_bad_links(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_links(text)
    assert refused.value.message.startswith(message)


def test_a_draft_checks_everything_at_once() -> None:
    draft = ArtistDraft.parse(" Nova ", None, "ambient", "https://nova.example")
    assert draft == ArtistDraft(
        name="Nova", bio=None, genres=["ambient"], links=[{"label": "nova.example", "url": "https://nova.example"}]
    )
