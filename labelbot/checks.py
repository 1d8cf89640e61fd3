"""What `labelbot check-config` looks at beyond the settings' types: features, extensions, the public address."""

from __future__ import annotations

import importlib

from labelbot.config import Settings


def deeper_problems(settings: Settings) -> tuple[list[str], list[str]]:
    """Problems that stop the bot from starting as configured, and warnings about what would half work."""
    from labelbot.client import FEATURES_PACKAGE, find_extensions

    problems: list[str] = []
    warnings: list[str] = []
    known = sorted(name.rsplit(".", 1)[-1] for name in find_extensions())
    for name in settings.features.disabled:
        if name not in known:
            problems.append(f"features.disabled: {name!r} is not a feature; the features are {', '.join(known)}")
    for dotted in settings.features.extra_extensions:
        try:
            module = importlib.import_module(dotted)
        except Exception as error:  # whatever an extension raises on import stops `run` the same way
            problems.append(f"features.extra_extensions: {dotted!r} does not import ({type(error).__name__}: {error})")
            continue
        if not callable(getattr(module, "setup", None)):
            problems.append(f"features.extra_extensions: {dotted!r} has no setup() function, so it is not an extension")
    calendar_on = "calendar" not in settings.features.disabled and f"{FEATURES_PACKAGE}.calendar" in find_extensions()
    if settings.web.enabled and calendar_on and not settings.web.public_url:
        warnings.append(
            f"web.public_url is not set, so calendar links point at http://{settings.web.host}:{settings.web.port}, "
            "which only this machine can open; set it to the address people reach the bot at "
            "(e.g. https://bot.example.org)."
        )
    return problems, warnings
