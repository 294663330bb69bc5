"""Fuzzing the floe.yaml compiler: any YAML document either compiles or gives one clean line."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from floe_core import FloeConfigError, compile_spec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

#: Examples per property; ``make reliability`` raises it (FLOE_FUZZ_EXAMPLES=5000).
EXAMPLES = int(os.environ.get("FLOE_FUZZ_EXAMPLES", "300"))
KEYS = [
    "catalog", "storage", "retry", "ingestion", "sources", "name", "type", "config",
    "destination", "namespace", "table", "write_mode", "merge_strategy", "primary_key",
    "schema_contract", "schedule", "uri", "warehouse", "credential", "s3", "max_retries",
    "initial_delay_seconds", "state_url", "properties", "plugin", "pipelines_dir",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["sql", "rest", "append", "merge", "upsert", "bronze", "a.b", "0 * * * *"]),
    st.text(max_size=12),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=5),
    ),
    max_leaves=25,
)
DOCUMENTS = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=5)


def _error(path: Path) -> str | None:
    """The one-line error compiling ``path`` gives, or None when it compiles."""
    try:
        compile_spec(path, env={})
    except FloeConfigError as exc:
        return str(exc)
    return None


def _check(document: Any, folder: Path) -> None:
    path = folder / "floe.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    message = _error(path)
    if message is not None:
        assert "\n" not in message
        assert message.startswith(str(path))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENTS)
def test_random_documents(document: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        _check(document, Path(folder))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6))
def test_random_sources(source: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        _check({"ingestion": {"sources": [source]}}, Path(folder))


@settings(max_examples=EXAMPLES * 2 // 3, deadline=None)
@given(st.text(max_size=200))
def test_random_text(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "floe.yaml"
        path.write_text(text, encoding="utf-8")
        message = _error(path)
        assert message is None or "\n" not in message
