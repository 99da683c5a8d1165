"""Tests that need the real recordings in ../shared/data skip where that folder is absent (a fresh
clone with nothing beside it).  Such a skip must not pass unnoticed: the run ends with a loud line
naming how many were skipped, and with STRIDECUE_REQUIRE_DATA=1 (a machine that has the data) the
run fails instead."""

from __future__ import annotations

import os

import pytest

DATA_REASON = "shared data not present"


def _data_skips(terminalreporter) -> list:
    return [r for r in terminalreporter.stats.get("skipped", [])
            if isinstance(r.longrepr, tuple) and DATA_REASON in str(r.longrepr[-1])]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = _data_skips(terminalreporter)
    if skipped:
        terminalreporter.write_sep("!", f"{len(skipped)} tests on real recordings SKIPPED: ../shared/data is missing "
                                        f"(set STRIDECUE_SHARED_DATA); their figures are not checked by this run",
                                   red=True, bold=True)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and os.environ.get("STRIDECUE_REQUIRE_DATA") == "1" and _data_skips(reporter):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
