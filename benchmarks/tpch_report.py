"""The tpch suite's report: a table per phase, then each target with its ratio, met or missed."""

from __future__ import annotations

from tpch import INCREMENTAL, INITIAL, MERGE, MERGE_RSS_LIMIT, RSS_LIMIT, SQLITE, Series

MEMORY_COMMAND = "uv run python benchmarks/run.py --suite memory --memory-rows 1000000,10000000"
STARTUP_COMMAND = "uv run python benchmarks/run.py --suite startup"
SF1_ROWS = 6_001_215


def _cell(text: str) -> str:
    """``text`` as one markdown table cell (tools' errors may hold pipes)."""
    return text.replace("|", "\\|").replace("\n", " ")


def _verified(s: Series) -> str:
    unreadable = sorted({u for sample in s.samples for u in sample.unreadable})
    if not unreadable:
        return "yes"
    if any(len(sample.unreadable) == 2 for sample in s.samples):
        return "no: " + "; ".join(unreadable)
    return "yes, but " + "; ".join(unreadable)


def _phase(phase: str, series: list[Series]) -> list[str]:
    rows = [s for s in series if s.phase == phase]
    floe = next((s for s in rows if s.tool == "floe" and s.samples), None)
    lines = [
        f"### {phase}",
        "",
        "| tool | rows | median s | time vs floe | peak RSS MiB | data files | snapshots | "
        "commits | verified |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in rows:
        if s.not_run or s.failure or not s.samples:
            why = s.not_run or f"failed: {s.failure or 'no run'}"
            verified = "no" if s.failure else "-"
            lines.append(f"| {s.tool} | {_cell(why)} | | | | | | | {verified} |")
            continue
        vs = f"{s.median('seconds') / floe.median('seconds'):.2f}" if floe else "-"
        files = f"{s.median('data_files'):.0f}"
        if s.median("delete_files"):
            files += f" (+{s.median('delete_files'):.0f} delete)"
        lines.append(
            f"| {s.tool} | {int(s.median('rows')):,} | {s.median('seconds'):.2f} | {vs} | "
            f"{s.median('rss_mib'):.0f} | {files} | "
            f"{s.median('snapshots'):.0f} | {s.median('commits'):.0f} | {_cell(_verified(s))} |"
        )
    return [*lines, ""]


def _get(series: list[Series], phase: str, tool: str) -> Series | None:
    return next((s for s in series if s.phase == phase and s.tool == tool), None)


def _missing(s: Series | None, tool: str) -> str | None:
    """Why ``s`` has no figures, or None when it has."""
    if s is None:
        return f"{tool} not run"
    if s.not_run:
        return f"{tool} {s.not_run}"
    if s.failure or not s.samples:
        return f"{tool} failed ({s.failure or 'no run'})"
    return None


def _ratio(series: list[Series], phase: str, other: str, least: float, strict: bool) -> list[str]:
    """[measured, result] for "the other tool's time over floe's is at least ``least``"."""
    floe, peer = _get(series, phase, "floe"), _get(series, phase, other)
    if (why := _missing(floe, "floe")) is not None:
        return [why, "missed"]
    if (why := _missing(peer, other)) is not None or peer is None or floe is None:
        return [f"not measured: {why}", "-"]
    ratio = peer.median("seconds") / floe.median("seconds")
    met = ratio > least if strict else ratio >= least
    unverified = any(len(sample.unreadable) == 2 for sample in peer.samples)
    return [
        f"{other} {peer.median('seconds'):.2f} s / floe {floe.median('seconds'):.2f} s "
        f"= {ratio:.2f}"
        + (f" ({other}'s table: neither pyiceberg nor DuckDB reads it)" if unverified else ""),
        "met" if met else "missed",
    ]


def _targets(series: list[Series]) -> list[list[str]]:
    rows = [
        [
            "1. initial load from PostgreSQL: floe faster than ingestr (>= 1.0)",
            *_ratio(series, INITIAL, "ingestr", 1.0, strict=False),
        ],
        [
            "1. SQLite table: floe >= 0.8x the streamed connectorx -> pyiceberg path",
            *_ratio(series, SQLITE, "stream_connectorx", 0.8, strict=False),
        ],
    ]
    peaks, missing = [], []
    for phase in (INITIAL, INCREMENTAL, MERGE):
        s = _get(series, phase, "floe")
        if (why := _missing(s, "floe")) is not None or s is None:
            missing.append(f"{phase}: {why}")
        else:
            peaks.append((phase, s.median("rss_mib")))
    measured = ", ".join(f"{phase} {mib:.0f} MiB" for phase, mib in peaks)
    met = not missing and all(mib < RSS_LIMIT for _, mib in peaks)
    rows.append(
        [
            f"2. floe's peak RSS < {RSS_LIMIT} MiB: append, incremental first run, merge",
            "; ".join(filter(None, [measured, *missing])),
            "met" if met else "missed",
        ]
    )
    rows.append(
        ["2. peak RSS <= 1.3x from 1M to 10M rows", f"the memory suite: `{MEMORY_COMMAND}`", "-"]
    )
    append, first = _get(series, INITIAL, "floe"), _get(series, INCREMENTAL, "floe")
    if append and first and append.samples and first.samples:
        time = first.median("seconds") / append.median("seconds")
        rss = first.median("rss_mib") / append.median("rss_mib")
        rows.append(
            [
                "3. incremental first run within 10% of the append (time and peak RSS)",
                f"time {time:.2f}x, peak RSS {rss:.2f}x",
                "met" if time <= 1.1 and rss <= 1.1 else "missed",
            ]
        )
    else:
        rows.append(
            ["3. incremental first run within 10% of the append", "a floe load failed", "missed"]
        )
    rows += _merge_target(series)
    rows.append(
        [
            "5. a 10,000-row load <= 2.5 s, whole process",
            f"the startup suite: `{STARTUP_COMMAND}`",
            "-",
        ]
    )
    return rows


def _merge_target(series: list[Series]) -> list[list[str]]:
    floe = _get(series, MERGE, "floe")
    if (why := _missing(floe, "floe")) is not None or floe is None:
        return [["4. merge", why, "missed"]]
    speed = _ratio(series, MERGE, "dlt_iceberg", 1.0, strict=True)
    rss, commits = floe.median("rss_mib"), max(s.commits for s in floe.samples)
    unreadable = sorted({u for s in floe.samples for u in s.unreadable})
    return [
        ["4. merge: faster than dlt-iceberg", *speed],
        [
            f"4. merge: peak RSS < {MERGE_RSS_LIMIT} MiB",
            f"{rss:.0f} MiB",
            "met" if rss < MERGE_RSS_LIMIT else "missed",
        ],
        [
            "4. merge: one commit per table",
            f"{commits} (most in a run)",
            "met" if commits == 1 else "missed",
        ],
        [
            "4. merge: pyiceberg and DuckDB read the table",
            "; ".join(unreadable) or "both read it, figures equal to PostgreSQL's",
            "missed" if unreadable else "met",
        ],
    ]


def report(series: list[Series], scale: float, repeat: int, sqlite_rows: int) -> str:
    initial = next((s for s in series if s.phase == INITIAL and s.samples), None)
    rows = int(initial.median("rows")) if initial else None
    size = f"{rows:,} rows" if rows is not None else "rows unknown"
    lines = [
        f"## tpch: TPC-H lineitem, scale {scale:g} ({size}), PostgreSQL into Iceberg",
        "",
        f"Medians of {repeat} alternating repetitions; seconds are whole-process wall time, peak "
        "RSS is the process's own (its children included). Rows: in the table after the load. "
        "Time vs floe: the tool's seconds over floe's (above 1: slower than floe). Snapshots and commits: those the load added "
        "(commits: metadata files written, the table's creation included). Verified: pyiceberg "
        "and DuckDB read back the rows and sum(l_extendedprice) PostgreSQL holds, and no key "
        "twice. The merge changes every tenth order (10% of the rows) and adds as many rows. "
        f"The SQLite phase loads the {sqlite_rows:,}-row `events` table of the sqlite suite.",
        "",
    ]
    for phase in (INITIAL, INCREMENTAL, MERGE, SQLITE):
        lines += _phase(phase, series)
    lines += ["### targets", ""]
    if scale != 1 or sqlite_rows != 1_000_000:
        lines += [
            f"The targets name scale 1 ({SF1_ROWS:,} rows) and a 1,000,000-row SQLite table; "
            f"this run is scale {scale:g} and {sqlite_rows:,} SQLite rows, so the ratios below "
            "are for those sizes.",
            "",
        ]
    lines += ["| target | measured | result |", "|---|---|---|"]
    lines += [f"| {' | '.join(_cell(c) for c in row)} |" for row in _targets(series)]
    return "\n".join([*lines, ""])
