"""Retrying transient failures with exponential backoff; anything else fails at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from floe_core.spec import RetrySpec
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from floe_ingestion_dlt.errors import ErrorCategory, categorize_error
from floe_ingestion_dlt.observability import get_logger

__all__ = ["call_with_retry"]

T = TypeVar("T")


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, Exception) and categorize_error(exc) is ErrorCategory.TRANSIENT


def call_with_retry(func: Callable[[], T], config: RetrySpec, *, pipeline_name: str) -> T:
    """Call ``func``, retrying TRANSIENT errors up to ``config.max_retries`` times."""
    log = get_logger()

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "pipeline_retrying",
            pipeline_id=pipeline_name,
            attempt=state.attempt_number,
            error_type=type(exc).__name__,
            sleep_seconds=round(state.upcoming_sleep, 3),
        )

    retrying = Retrying(
        retry=retry_if_exception(_is_transient),
        stop=stop_after_attempt(config.max_retries + 1),
        wait=wait_exponential(
            multiplier=config.initial_delay_seconds,
            min=config.initial_delay_seconds,
            max=config.max_delay_seconds,
        ),
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(func)
