"""``publish: audit`` killed between its steps: the rerun publishes the load once."""

from __future__ import annotations

from typing import Any

import pytest
from floe_testing.fixtures.ingestion import FloeProject
from floe_testing.orders import good_rows, orders_db, write_project


class _Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no handler sees it as an error."""


def _table(project: FloeProject) -> Any:
    from floe_dlt_destination_iceberg.catalog import open_catalog

    return open_catalog(project.plugin().engine.settings).load_table(("bronze", "orders"))


def _ids(project: FloeProject) -> list[int]:
    return sorted(_table(project).scan().to_arrow().column("id").to_pylist())


@pytest.mark.parametrize("kill_at", ["before_audit", "after_publish"])
def test_a_killed_audited_load_is_published_once(
    floe_project: FloeProject, monkeypatch: pytest.MonkeyPatch, kill_at: str
) -> None:
    from floe_dlt_destination_iceberg import publish

    orders_db(floe_project.root, good_rows(range(1, 4)))
    write_project(floe_project, publish="audit")
    assert floe_project.run().ok
    orders_db(floe_project.root, good_rows(range(1, 7)))

    with monkeypatch.context() as patch:
        if kill_at == "before_audit":  # the table is committed to its branch, nothing checked

            def killed(*args: Any, **kwargs: Any) -> Any:
                raise _Killed

            patch.setattr(publish, "audit_and_publish", killed)
        else:  # main moved; dlt has not recorded the load
            move = publish._move_main

            def killed_after(*args: Any, **kwargs: Any) -> None:
                move(*args, **kwargs)
                raise _Killed

            patch.setattr(publish, "_move_main", killed_after)
        with pytest.raises(_Killed):
            floe_project.plugin().load("shop")

    expected_main = [1, 2, 3] if kill_at == "before_audit" else [1, 2, 3, 4, 5, 6]
    assert _ids(floe_project) == expected_main
    resumed = floe_project.run()  # finishes the pending load: audits and publishes it
    assert resumed.ok
    assert _ids(floe_project) == [1, 2, 3, 4, 5, 6]
    assert [n for n in _table(floe_project).metadata.refs if n != "main"] == []

    orders_db(floe_project.root, good_rows(range(1, 9)))
    assert floe_project.run().rows_loaded == 2
    assert _ids(floe_project) == [1, 2, 3, 4, 5, 6, 7, 8]
