"""Cells of CSV files moderators open in a spreadsheet, made inert."""

from __future__ import annotations

# A spreadsheet reads a cell starting with one of these as a formula (CSV injection, as OWASP describes it).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: object) -> object:
    """A member-written text that would run as a formula gets a leading single quote; other values pass as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
