"""pytest plugin of floe-testing: makes its fixtures available to every package's tests."""

from __future__ import annotations

from floe_testing.fixtures.entry_points import fake_distribution

__all__ = ["fake_distribution"]
