"""Claim codes (made, read back as typed, hashed) and perk names."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from bot.errors import InvalidInput
from bot.models.supporters import PERK_NAME_MAX

# 80 bits of randomness per code (16 base32 characters), well past guessing at five tries an hour.
CODE_BYTES = 10
CODE_GROUP = 4
_NOT_CODE = re.compile(r"[^A-Z2-7]")
CODE_LENGTH = CODE_BYTES * 8 // 5


def _grouped(raw: bytes) -> str:
    text = base64.b32encode(raw).decode()[:CODE_LENGTH]
    return "-".join(text[i : i + CODE_GROUP] for i in range(0, len(text), CODE_GROUP))


def new_code() -> str:
    """A fresh single-use code such as "K7QH-2MXA-PZ4D-RT6B"."""
    return _grouped(secrets.token_bytes(CODE_BYTES))


def order_code(key: str, guild_id: int, order_id: str) -> str:
    """The claim code of a shop order that named no member: the same on every delivery of that order.

    Derived from the server's own code key, so a repeated delivery is answered with the same code while only the
    code's hash is stored.
    """
    digest = hmac.new(key.encode(), f"{guild_id}:{order_id}".encode(), hashlib.sha256).digest()
    return _grouped(digest[:CODE_BYTES])


def new_code_key() -> str:
    return secrets.token_hex(32)


def normalise_code(typed: str) -> str | None:
    """The code as stored before hashing (upper case, no dashes or spaces), or None when it can't be one."""
    cleaned = typed.strip().upper().replace("-", "").replace(" ", "")
    cleaned = cleaned.replace("0", "O").replace("1", "I").replace("8", "B")
    if len(cleaned) != CODE_LENGTH or _NOT_CODE.search(cleaned):
        return None
    return cleaned


def code_hash(normalised: str) -> str:
    return hashlib.sha256(normalised.encode()).hexdigest()


def hash_of(code: str) -> str:
    """The stored hash of a code as issued."""
    normalised = normalise_code(code)
    assert normalised is not None
    return code_hash(normalised)


def perk_name(text: str) -> str:
    """A perk's name, trimmed and checked."""
    name = " ".join(text.split())
    if not name:
        raise InvalidInput("Give the perk a name.")
    if len(name) > PERK_NAME_MAX:
        raise InvalidInput(f"A perk's name can be at most {PERK_NAME_MAX} characters.")
    return name


def name_key(name: str) -> str:
    return " ".join(name.casefold().split())
