"""The fault suite runs against the production shape (tests/cluster.py): real PostgreSQL, Redis,
gunicorn, FastAGI and scheduler processes. Each test starts its own and prints its figures."""
from __future__ import annotations

import pytest

from tests.cluster import Cluster
from tests.servers import pg_bindir


@pytest.fixture
def cluster(tmp_path):
    if pg_bindir() is None:
        pytest.skip("PostgreSQL is not installed (scripts/test.sh installs it)")
    shape = Cluster(tmp_path).start()
    yield shape
    shape.stop()
