"""A plan's schema diff: the destination's column changes with dlt's schema contract applied.

The contract is judged by dlt's own rule (``Schema.apply_schema_contract``, what extraction
calls) on the column hints the source declares, against the schema the last run stored: under
``freeze`` a new column or a changed column type fails the run, under ``discard_value`` its
values are dropped. The column changes are the destination's (``DestinationType.describe_table``).
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from floe_core.spec import SchemaContract

from floe_ingestion_dlt.types import ColumnChange

__all__ = ["DiffRow", "contract_filters", "diff_rows"]

_OUTCOMES = {
    "freeze": "contract violation (freeze)",
    "discard_value": "values dropped (discard_value)",
    "discard_row": "rows dropped (discard_row)",
}


@dataclass(frozen=True)
class DiffRow:
    """One column a run would change, and what becomes of it."""

    column: str
    change: str  # add | promote | refuse | retype (a type only dlt's schema tells apart)
    before: str | None
    after: str | None
    outcome: str  # added | promoted | refused | contract violation (freeze) | values dropped ...
    reason: str = ""

    @property
    def refused(self) -> bool:
        return self.outcome == "refused" or self.outcome.startswith("contract violation")

    def refusal(self, table: str) -> str:
        """One line naming table and column, for a refused row."""
        if self.outcome == "refused":
            return (
                f"{table}: column {self.column} cannot change from {self.before} to "
                f"{self.after} ({self.reason})"
            )
        if self.change == "add":
            return (
                f"{table}: new column {self.column} ({self.after}) violates schema_contract: freeze"
            )
        return (
            f"{table}: column {self.column} changes type"
            + (f" from {self.before} to {self.after}" if self.before and self.after else "")
            + ", which schema_contract: freeze refuses"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "change": self.change,
            "before": self.before,
            "after": self.after,
            "outcome": self.outcome,
            "reason": self.reason or None,
        }


def contract_filters(
    schema: Any, table: str, columns: dict[str, dict[str, Any]] | None, mode: SchemaContract
) -> dict[str, str] | None:
    """The columns of ``table`` dlt's schema contract would act on, with its mode for each
    (``freeze``, ``discard_value``), judged against ``schema`` (the stored ``dlt.Schema``);
    ``None`` when it cannot be told (no stored schema, or columns known only by reading)."""
    from floe_ingestion_dlt.hints import schema_contract

    if mode == "evolve":
        return {}
    if schema is None or columns is None or table not in schema.tables:
        return None
    partial = {"name": table, "columns": deepcopy(columns)}
    _, filters = schema.apply_schema_contract(schema_contract(mode), partial, raise_on_freeze=False)
    return {name: str(how) for entity, name, how in filters if entity != "tables"}


def diff_rows(
    changes: tuple[ColumnChange, ...],
    contract: dict[str, str] | None,
    mode: SchemaContract,
    schema: Any = None,
    table: str = "",
    columns: dict[str, dict[str, Any]] | None = None,
) -> tuple[DiffRow, ...]:
    """Each column change with its outcome: dlt's contract first (it acts at extraction, before
    the table sees the column), then the table's own rule. With no ``contract`` known, a new
    column under ``freeze`` or ``discard_value`` is judged as dlt would judge it."""
    rows: list[DiffRow] = []
    for change in changes:
        how = (contract or {}).get(change.column)
        if contract is None and change.change == "add" and mode != "evolve":
            how = mode
        if how in _OUTCOMES:
            outcome = _OUTCOMES[str(how)]
        else:
            outcome = {"refuse": "refused", "promote": "promoted"}.get(change.change, "added")
        rows.append(
            DiffRow(
                change.column, change.change, change.before, change.after, outcome, change.reason
            )
        )
    seen = {c.column for c in changes}
    for name, how in sorted((contract or {}).items()):
        if name not in seen and how in _OUTCOMES:  # a type dlt tells apart, the table does not
            stored = _dlt_type(schema, table, name)
            wanted = _dlt_type_of((columns or {}).get(name))
            rows.append(DiffRow(name, "retype", stored, wanted, _OUTCOMES[how]))
    return tuple(rows)


def _dlt_type(schema: Any, table: str, column: str) -> str | None:
    if schema is None or table not in schema.tables:
        return None
    return _dlt_type_of(schema.tables[table]["columns"].get(column))


def _dlt_type_of(column: dict[str, Any] | None) -> str | None:
    """A dlt column's type as text: ``decimal(10,2)``, ``text(20)``, ``bigint not null``."""
    if not column or not column.get("data_type"):
        return None
    sizes = [str(column[k]) for k in ("precision", "scale") if column.get(k) is not None]
    text = str(column["data_type"]) + (f"({','.join(sizes)})" if sizes else "")
    return text + (" not null" if column.get("nullable") is False else "")
