import os

import pytest

from tests.conftest import need_service


@pytest.fixture
def redis_url():
    url = os.environ.get("REDIS_URL", "")
    need_service(bool(url), "REDIS_URL is not set: integration tests need Redis")
    import redis

    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError as exc:
        need_service(False, f"Redis at {url} is unreachable: {exc}")
    return url
