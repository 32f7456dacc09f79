"""Migration 0015: balances of the old customers.card_balance_fen column become opening ledger rows."""
from __future__ import annotations

from sqlalchemy import text

from tickets.db import make_engine
from tickets.migrate import upgrade


def test_an_old_balance_becomes_a_card_whose_ledger_sums_to_it(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/m.db")
    upgrade(engine, "0008")
    with engine.begin() as conn:
        for name, fen in (("王女士", 120000), ("Mr. Smith", 0)):
            conn.execute(text("INSERT INTO customers (name, member_level, card_balance_fen, notes, created_at) "
                              "VALUES (:n, 'vip', :b, '', CURRENT_TIMESTAMP)"), {"n": name, "b": fen})
    upgrade(engine, "0015")
    with engine.connect() as conn:
        cards = conn.execute(text("SELECT c.name, m.number, m.balance_fen, SUM(l.amount_fen), MIN(l.kind) "
                                  "FROM member_cards m JOIN customers c ON c.id = m.customer_id "
                                  "JOIN card_ledger l ON l.card_id = m.id GROUP BY c.name, m.number, m.balance_fen")).all()
        columns = [row[1] for row in conn.execute(text("PRAGMA table_info(customers)"))]
    assert cards == [("王女士", "880000000001", 120000, 120000, "adjustment")]
    assert "card_balance_fen" not in columns
    engine.dispose()


def test_downgrade_puts_each_balance_back_in_the_customer_row(tmp_path):
    from alembic import command

    from tickets.migrate import alembic_config
    engine = make_engine(f"sqlite:///{tmp_path}/m.db")
    upgrade(engine, "0008")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO customers (name, member_level, card_balance_fen, notes, created_at) "
                          "VALUES ('李先生', 'senior', 50000, '', CURRENT_TIMESTAMP)"))
    upgrade(engine, "0015")
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT card_balance_fen FROM customers")).scalar_one() == 50000
    engine.dispose()
