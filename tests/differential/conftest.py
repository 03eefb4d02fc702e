"""Show the differential tests' figures in the terminal summary (without ``-s``)."""

from __future__ import annotations

import pytest

from tests.differential import SUMMARY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SUMMARY:
        terminalreporter.section("PAVI differential")
        for line in SUMMARY:
            terminalreporter.write_line(line)
