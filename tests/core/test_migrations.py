"""The Alembic migrations under sql/ and the models in tickets/models.py describe the same schema."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tickets.db import make_engine
from tickets.migrate import current, upgrade
from tickets.models import Base


def _diff(engine):
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)


def test_sqlite_schema_from_migrations_matches_models(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/m.db")
    upgrade(engine)
    assert _diff(engine) == []
    engine.dispose()


def test_upgrade_twice_is_a_no_op(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/m.db")
    upgrade(engine)
    head = current(engine)
    upgrade(engine)
    assert current(engine) == head
    engine.dispose()


def test_postgresql_schema_from_migrations_matches_models(pg_hl):
    assert _diff(pg_hl.engine) == []


def test_downgrade_to_base_and_back_on_postgresql(pg_hl):
    from alembic import command

    from tickets.migrate import alembic_config
    cfg = alembic_config(pg_hl.engine)
    pg_hl.engine.dispose()
    command.downgrade(cfg, "base")
    assert current(pg_hl.engine) is None
    upgrade(pg_hl.engine)
    assert _diff(pg_hl.engine) == []
