"""The sweep's summary: how many probes reached each command (collected from every xdist worker)."""

from __future__ import annotations

from typing import Any

import pytest

_PROBES: dict[str, int] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # user_properties travel from xdist workers to the controller with the report
    for name, value in report.user_properties:
        if name == "sweep_probes" and isinstance(value, dict):
            _PROBES.update(value)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _PROBES:
        return
    terminalreporter.write_sep("-", f"bad-input sweep: probes that reached each command ({len(_PROBES)} commands)")
    for command, count in sorted(_PROBES.items()):
        terminalreporter.write_line(f"{count:4d}  {command}")
