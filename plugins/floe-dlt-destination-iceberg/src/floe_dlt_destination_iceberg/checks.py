"""Data checks of an Iceberg table, evaluated by DuckDB over the table's rows as Arrow data.

Row checks (``not_null``, ``accepted_values``, ``expression``) and ``unique`` look at every row
of the table as of one snapshot (main's, or an audit branch's); ``row_count`` looks at the rows
the load that made that snapshot brought (its ``floe.rows`` summary property).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from floe_core.spec import CheckSpec
from floe_ingestion_dlt.audit import row_count_result
from floe_ingestion_dlt.types import CheckResult

from floe_dlt_destination_iceberg.writer import ROWS_PROPERTY

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot

__all__ = ["EXAMPLES", "run_checks"]

#: Keys of failing rows shown per check
EXAMPLES = 5


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _snapshot(table: Table, branch: str | None, snapshot_id: int | None) -> Snapshot | None:
    if snapshot_id is not None:
        return table.snapshot_by_id(snapshot_id)
    if branch is None:
        return table.current_snapshot()
    snapshot = table.snapshot_by_name(branch)
    if snapshot is None:
        raise ValueError(f"table has no branch {branch!r}")
    return snapshot


def _columns_needed(checks: Sequence[CheckSpec], keys: Sequence[str]) -> list[str] | None:
    """The columns the row checks read; ``None`` when an expression may read any of them."""
    if any(c.expression is not None for c in checks):
        return None
    needed = list(keys)
    for check in checks:
        needed += check.not_null or []
        needed += check.unique or []
        if check.accepted_values is not None:
            needed.append(check.accepted_values.column)
    return list(dict.fromkeys(needed))


def _read(table: Table, snapshot: Snapshot | None, columns: list[str] | None) -> pa.Table:
    from floe_dlt_destination_iceberg._pyiceberg_adapter import keep_nested_nulls

    schema = table.schema()
    present = {f.name for f in schema.fields}
    selected = ("*",) if columns is None else tuple(c for c in columns if c in present)
    if snapshot is None or not selected:
        arrow = schema.as_arrow()
        names = arrow.names if selected == ("*",) else list(selected)
        return arrow.empty_table().select(names)
    keep_nested_nulls()
    return table.scan(snapshot_id=snapshot.snapshot_id, selected_fields=selected).to_arrow()


def run_checks(
    table: Table,
    name: str,
    checks: Sequence[CheckSpec],
    keys: Sequence[str],
    *,
    branch: str | None = None,
    snapshot_id: int | None = None,
) -> list[CheckResult]:
    """Run ``checks`` on ``table`` (``name``: ``namespace.table``) as of ``snapshot_id``, or the
    head of ``branch`` (main when ``None``); failing rows are shown by their ``keys`` columns."""
    if not checks:
        return []
    import duckdb

    snapshot = _snapshot(table, branch, snapshot_id)
    keys = _example_keys(table, keys)
    data = _read(table, snapshot, _columns_needed(checks, keys))
    loaded = _rows_of_load(snapshot)
    # a private in-memory database that can reach no file or network: an expression is SQL
    connection = duckdb.connect(config={"enable_external_access": False})
    try:
        connection.register("t", data)
        return [
            _run_one(connection, name, check, keys, data.column_names, loaded) for check in checks
        ]
    finally:
        connection.close()


def _example_keys(table: Table, keys: Sequence[str]) -> list[str]:
    """The columns failing rows are shown by: the primary key, else the table's identifier
    fields, else its first column."""
    schema = table.schema()
    present = [f.name for f in schema.fields]
    chosen = [k for k in keys if k in present] or list(schema.identifier_field_names())
    return chosen or present[:1]


def _rows_of_load(snapshot: Snapshot | None) -> int:
    if snapshot is None or snapshot.summary is None:
        return 0
    summary = snapshot.summary
    return int(summary.get(ROWS_PROPERTY) or summary.get("added-records") or 0)


def _run_one(
    connection: Any,
    name: str,
    check: CheckSpec,
    keys: Sequence[str],
    columns: Sequence[str],
    loaded: int,
) -> CheckResult:
    import duckdb

    def result(
        passed: bool, failing: int = 0, examples: tuple[str, ...] = (), detail: str = ""
    ) -> CheckResult:
        return CheckResult(name, check.label, check.severity, passed, failing, examples, detail)

    if check.row_count is not None:
        return row_count_result(name, check, loaded)
    missing = [c for c in _referenced(check) if c not in columns]
    if missing:
        return result(False, detail=f"cannot run: the table has no column {missing[0]!r}")
    try:
        if check.unique is not None:
            failing, examples = _duplicates(connection, check.unique)
        else:
            failing, examples = _violations(connection, _condition(check), keys)
    except duckdb.Error as exc:
        return result(False, detail=f"cannot run: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    return result(failing == 0, failing, examples)


def _referenced(check: CheckSpec) -> list[str]:
    if check.accepted_values is not None:
        return [check.accepted_values.column]
    return list(check.not_null or check.unique or [])


def _condition(check: CheckSpec) -> str:
    """SQL that is true for a row failing ``check``."""
    if check.not_null is not None:
        return " OR ".join(f"{_quote(c)} IS NULL" for c in check.not_null)
    if check.accepted_values is not None:
        column = _quote(check.accepted_values.column)
        values = ", ".join(
            "'" + _text(v).replace("'", "''") + "'" for v in check.accepted_values.values
        )
        return f"{column} IS NOT NULL AND CAST({column} AS VARCHAR) NOT IN ({values})"
    assert check.expression is not None  # nosec B101  # narrows the type; checked upstream
    # a row fails when the expression is false; NULL (unknown) passes, as in a SQL CHECK
    return f"NOT ({check.expression})"


def _text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _violations(
    connection: Any, condition: str, keys: Sequence[str]
) -> tuple[int, tuple[str, ...]]:
    [(failing,)] = connection.execute(f"SELECT count(*) FROM t WHERE {condition}").fetchall()  # nosec B608  # the check predicate is the project's own floe.yaml; names quoted
    if not failing or not keys:
        return int(failing), ()
    selected = ", ".join(_quote(k) for k in keys)
    rows = connection.execute(
        f"SELECT {selected} FROM t WHERE {condition} LIMIT {EXAMPLES}"  # nosec B608  # the check predicate is the project's own floe.yaml; names quoted
    ).fetchall()
    return int(failing), tuple(_key_text(keys, row) for row in rows)


def _duplicates(connection: Any, columns: Sequence[str]) -> tuple[int, tuple[str, ...]]:
    """Rows whose ``columns`` (none of them NULL) another row has too, and some of those keys."""
    selected = ", ".join(_quote(c) for c in columns)
    present = " AND ".join(f"{_quote(c)} IS NOT NULL" for c in columns)
    grouped = f"SELECT {selected}, count(*) AS n FROM t WHERE {present} GROUP BY ALL HAVING n > 1"  # nosec B608  # the check predicate is the project's own floe.yaml; names quoted
    [(failing,)] = connection.execute(f"SELECT coalesce(sum(n), 0) FROM ({grouped})").fetchall()  # nosec B608  # the check predicate is the project's own floe.yaml; names quoted
    if not failing:
        return 0, ()
    rows = connection.execute(
        f"SELECT {selected} FROM ({grouped}) ORDER BY n DESC LIMIT {EXAMPLES}"  # nosec B608  # the check predicate is the project's own floe.yaml; names quoted
    ).fetchall()
    return int(failing), tuple(_key_text(columns, row) for row in rows)


def _key_text(keys: Sequence[str], row: Sequence[Any]) -> str:
    text = ", ".join(
        f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in zip(keys, row, strict=True)
    )
    return text if len(keys) == 1 else f"({text})"
