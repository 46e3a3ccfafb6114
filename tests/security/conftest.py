"""Fixtures borrowed from the measures tests."""

from tests.measures.conftest import new_measure, ready_measure  # noqa: F401 - fixtures
