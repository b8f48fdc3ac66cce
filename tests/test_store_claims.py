"""Claims on grid cells, as each history keeps them: one owner at a time, a lapsed claim taken
over, a claim given back free for the next."""
from __future__ import annotations

from pathlib import Path

import pytest

from opus_magic.store import claims
from opus_magic.store.backends import open_store


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    location = (request.getfixturevalue("pg_url") if request.param == "postgresql"
                else tmp_path / "history.sqlite")
    found = open_store(location)
    yield found
    found.close()


def test_a_cell_is_held_by_one_owner_until_its_claim_lapses_or_is_given_back(store) -> None:
    assert claims.claim(store, "cell-1", "a", expires_at=130.0, now=100.0) == "a"
    assert claims.claim(store, "cell-1", "b", expires_at=140.0, now=110.0) == "a"  # in force
    assert claims.claim(store, "cell-1", "a", expires_at=150.0, now=120.0) == "a"  # still a's
    assert claims.claim(store, "cell-1", "b", expires_at=170.0, now=131.0) == "b"  # lapsed
    assert claims.claim(store, "cell-1", "a", expires_at=180.0, now=160.0) == "b"
    claims.release(store, "cell-1", "a")                                # not a's to give back
    assert claims.claim(store, "cell-1", "a", expires_at=190.0, now=165.0) == "b"
    claims.release(store, "cell-1", "b")
    assert claims.claim(store, "cell-1", "a", expires_at=200.0, now=170.0) == "a"
    assert claims.claim(store, "cell-2", "b", expires_at=200.0, now=170.0) == "b"  # per cell


def test_a_heartbeat_keeps_every_claim_of_its_owner_in_force(store) -> None:
    claims.claim(store, "cell-1", "a", expires_at=130.0, now=100.0)
    claims.claim(store, "cell-2", "a", expires_at=130.0, now=100.0)
    claims.extend(store, "a", expires_at=200.0)
    assert claims.claim(store, "cell-1", "b", expires_at=240.0, now=150.0) == "a"
    assert claims.claim(store, "cell-2", "b", expires_at=240.0, now=150.0) == "a"
