"""Every extension loads, and the command surface is well-formed for Discord."""

from __future__ import annotations

import importlib
import re

import pytest

from labelbot.client import find_extensions

NAME = re.compile(r"^[-_\w]{1,32}$")


def test_extensions_are_found() -> None:
    assert "labelbot.features.about" in find_extensions()


@pytest.mark.parametrize("extension", find_extensions())
def test_extension_imports_and_has_setup(extension: str) -> None:
    module = importlib.import_module(extension)
    assert callable(getattr(module, "setup", None)), f"{extension} has no setup()"
