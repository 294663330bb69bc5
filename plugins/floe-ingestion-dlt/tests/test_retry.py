"""Transient failures are retried with backoff; anything else fails at once."""

from __future__ import annotations

import pytest
import requests
from floe_core.spec import RetrySpec
from floe_ingestion_dlt.retry import call_with_retry

FAST = RetrySpec(max_retries=3, initial_delay_seconds=0.0)


class Flaky:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "done"


def test_transient_errors_are_retried_until_success() -> None:
    flaky = Flaky([requests.Timeout(), ConnectionResetError()])
    assert call_with_retry(flaky, FAST, pipeline_name="p") == "done"
    assert flaky.calls == 3


def test_retries_stop_after_max_retries() -> None:
    flaky = Flaky([requests.Timeout() for _ in range(10)])
    with pytest.raises(requests.Timeout):
        call_with_retry(flaky, FAST, pipeline_name="p")
    assert flaky.calls == FAST.max_retries + 1


def test_permanent_errors_fail_at_once() -> None:
    response = requests.Response()
    response.status_code = 401
    flaky = Flaky([requests.HTTPError("401", response=response)])
    with pytest.raises(requests.HTTPError):
        call_with_retry(flaky, FAST, pipeline_name="p")
    assert flaky.calls == 1


def test_zero_retries() -> None:
    flaky = Flaky([requests.Timeout()])
    with pytest.raises(requests.Timeout):
        call_with_retry(flaky, RetrySpec(max_retries=0), pipeline_name="p")
    assert flaky.calls == 1
