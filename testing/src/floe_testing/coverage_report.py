"""Line coverage per workspace package, printed at the end of ``pytest``; a floor for some.

pytest-cov measures the whole run; this splits its data by package (one ``src`` folder each).
With ``FLOE_COVERAGE_MIN`` set (``.ci/run`` sets 80), the run fails when a package in
:data:`GATED` is under it.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = ["GATED", "PackageCoverage", "package_coverage"]

#: The packages whose line coverage CI holds to ``FLOE_COVERAGE_MIN``.
GATED = (
    "floe-ingestion-dlt",
    "floe-dlt-destination-iceberg",
    "floe-dlt-source-sql-database",
    "floe-dlt-source-filesystem",
    "floe-dlt-source-rest-api",
)


@dataclass(frozen=True)
class PackageCoverage:
    package: str
    percent: float

    @property
    def gated(self) -> bool:
        return self.package in GATED


def _packages(root: Path) -> Iterator[tuple[str, Path]]:
    for group in ("libs", "plugins"):
        for folder in sorted((root / group).glob("*/src")):
            yield folder.parent.name, folder


def package_coverage(coverage: Any, root: Path) -> list[PackageCoverage]:
    """Each workspace package's line coverage in the data ``coverage`` (a ``coverage.Coverage``)
    holds; packages with no measured file are left out."""
    from coverage.exceptions import NoDataError

    results = []
    for name, folder in _packages(root):
        try:
            percent = coverage.report(include=[f"{folder}/*"], file=io.StringIO())
        except NoDataError:
            continue
        results.append(PackageCoverage(name, float(percent)))
    return results


class CoverageByPackage:
    """The pytest plugin: after pytest-cov has saved the run's data, report and gate it."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results: list[PackageCoverage] = []
        self.minimum = float(os.environ.get("FLOE_COVERAGE_MIN", "0") or 0)

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)  # wraps pytest-cov's: runs after it saved
    def pytest_runtestloop(self, session: pytest.Session) -> Iterator[None]:
        yield
        cov_plugin = self.config.pluginmanager.getplugin("_cov")
        controller = getattr(cov_plugin, "cov_controller", None)
        if controller is None or self.config.option.collectonly:
            return
        self.results = package_coverage(controller.cov, Path(str(self.config.rootpath)))
        if any(r.gated and r.percent < self.minimum for r in self.results):
            session.testsfailed += 1

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.results:
            return
        terminalreporter.write_sep("=", "line coverage by package")
        for result in self.results:
            floor = self.minimum if result.gated and self.minimum else None
            under = floor is not None and result.percent < floor
            note = f"  (floor {floor:.0f}%{': UNDER' if under else ''})" if floor else ""
            terminalreporter.write_line(
                f"{result.package:32} {result.percent:6.1f}%{note}", red=under, bold=under
            )
