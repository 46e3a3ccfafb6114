"""Fixtures borrowed from the measures and reviews tests."""

from tests.measures.conftest import new_measure, ready_measure  # noqa: F401 - fixtures
from tests.reviews.conftest import action, catalog, mim, restored, review, service_owner  # noqa: F401 - fixtures
