"""Claim codes (made, read back as typed, hashed) and perk names."""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import re
import secrets
from dataclasses import dataclass

from labelbot.errors import InvalidInput
from labelbot.models.supporters import ORDER_ID_MAX, PERK_NAME_MAX

# 80 bits of randomness per code (16 base32 characters), well past guessing at five tries an hour.
CODE_BYTES = 10
CODE_GROUP = 4
_CODE_TEXT = re.compile(r"[A-Z0-9]{12,64}")
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
    """The code as hashed (upper case, no dashes or spaces), or None when it can't be a code at all.

    Codes a shop printed itself (imported with its orders) are letters and digits too, 12 to 64 of them.
    """
    cleaned = typed.strip().upper().replace("-", "").replace(" ", "")
    if not _CODE_TEXT.fullmatch(cleaned):
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


@dataclass(frozen=True)
class ImportedOrder:
    """One row of a shop's orders CSV."""

    line: int
    order_id: str
    product: str
    code: str | None


IMPORT_MAX_ROWS = 5000
IMPORT_MAX_BYTES = 1024 * 1024
_ORDER_COLUMNS = {"order_id", "order id", "order", "id"}
_PRODUCT_COLUMNS = {"product", "perk", "item"}
_CODE_COLUMNS = {"code", "claim code", "download code"}


def _column(header: list[str], names: set[str]) -> int | None:
    for index, name in enumerate(header):
        if name.strip().casefold().replace("_", " ") in {n.replace("_", " ") for n in names}:
            return index
    return None


def _cell(row: list[str], at: int | None) -> str:
    return row[at].strip() if at is not None and at < len(row) else ""


def orders_csv(data: bytes) -> list[ImportedOrder]:
    """Read a shop's orders CSV (columns order id, product, and optionally code); any bad row refuses all."""
    if len(data) > IMPORT_MAX_BYTES:
        raise InvalidInput("That file is over 1 MiB; split it into smaller files.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("That file isn't UTF-8 text; export the orders as a CSV file.") from None
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as error:
        raise InvalidInput(f"That file isn't a readable CSV ({error}).") from None
    if not rows:
        raise InvalidInput("That file is empty.")
    header = rows[0]
    order_at, product_at, code_at = (
        _column(header, _ORDER_COLUMNS),
        _column(header, _PRODUCT_COLUMNS),
        _column(header, _CODE_COLUMNS),
    )
    if order_at is None or product_at is None:
        raise InvalidInput("The first row must name the columns: order id, product, and optionally code.")
    if len(rows) - 1 > IMPORT_MAX_ROWS:
        raise InvalidInput(f"That file has more than {IMPORT_MAX_ROWS} orders; split it.")
    found: list[ImportedOrder] = []
    seen: set[str] = set()
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        order_id, product, code = _cell(row, order_at), _cell(row, product_at), _cell(row, code_at)
        if not order_id or len(order_id) > ORDER_ID_MAX:
            raise InvalidInput(f"Row {line}: the order id is missing or longer than {ORDER_ID_MAX} characters.")
        if order_id in seen:
            raise InvalidInput(f"Row {line}: order {order_id[:50]} appears twice.")
        seen.add(order_id)
        if not product:
            raise InvalidInput(f"Row {line}: the product is missing.")
        if code and normalise_code(code) is None:
            raise InvalidInput(f"Row {line}: a code is 12 to 64 letters and digits (dashes and spaces aside).")
        found.append(ImportedOrder(line, order_id, product, code or None))
    if not found:
        raise InvalidInput("That file has no orders in it.")
    return found
