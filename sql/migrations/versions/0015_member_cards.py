"""member cards: a card per customer and an append-only ledger of its money

Revision ID: 0015
Revises: 0016
Create Date: 2026-12-05 07:00:00

`customers.card_balance_fen` was a number anyone could overwrite, with no history. Each customer
with a balance gets a card (number 88 + the customer id on 10 digits) whose first ledger row is
an `adjustment` of that balance, reason "opening balance"; then the column goes. Downgrade puts
each customer's card balance back in the column and drops the cards and their ledger.
"""
import sqlalchemy as sa
from alembic import op


revision = '0015'
down_revision = '0016'
branch_labels = None
depends_on = None

OPENING = "opening balance (customers.card_balance_fen before migration 0015)"


def upgrade() -> None:
    op.create_table(
        'member_cards',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=16), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('balance_fen', sa.Integer(), nullable=False),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('number'),
    )
    with op.batch_alter_table('member_cards') as batch:
        batch.create_index(batch.f('ix_member_cards_customer_id'), ['customer_id'], unique=False)
    op.create_table(
        'card_ledger',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('card_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('amount_fen', sa.Integer(), nullable=False),
        sa.Column('balance_after_fen', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=True),
        sa.Column('reverses_id', sa.Integer(), nullable=True),
        sa.Column('idempotency_key', sa.String(length=64), nullable=True),
        sa.Column('reason', sa.String(length=255), nullable=False),
        sa.Column('actor_user_id', sa.Integer(), nullable=True),
        sa.Column('actor_label', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['actor_user_id'], ['users.id']),
        sa.ForeignKeyConstraint(['card_id'], ['member_cards.id']),
        sa.ForeignKeyConstraint(['order_id'], ['work_orders.id']),
        sa.ForeignKeyConstraint(['reverses_id'], ['card_ledger.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('idempotency_key'),
        sa.UniqueConstraint('reverses_id'),
    )
    with op.batch_alter_table('card_ledger') as batch:
        batch.create_index('ix_card_ledger_card_created', ['card_id', 'created_at'], unique=False)
        batch.create_index('ix_card_ledger_created_kind', ['created_at', 'kind'], unique=False)
        batch.create_index(batch.f('ix_card_ledger_order_id'), ['order_id'], unique=False)

    conn = op.get_bind()
    now = conn.execute(sa.select(sa.func.current_timestamp())).scalar()
    rows = conn.execute(sa.text("SELECT id, card_balance_fen FROM customers WHERE card_balance_fen <> 0")).all()
    for customer_id, balance in rows:
        card_id = conn.execute(sa.text(
            "INSERT INTO member_cards (number, customer_id, status, balance_fen, opened_at) "
            "VALUES (:n, :c, 'active', :b, :t) RETURNING id"),
            {"n": f"88{customer_id:010d}", "c": customer_id, "b": balance, "t": now}).scalar_one()
        conn.execute(sa.text(
            "INSERT INTO card_ledger (card_id, kind, amount_fen, balance_after_fen, reason, actor_label, created_at) "
            "VALUES (:card, 'adjustment', :b, :b, :r, 'migration 0015', :t)"),
            {"card": card_id, "b": balance, "r": OPENING, "t": now})
    # Not a batch (table copy) on SQLite: dropping the old customers table would break the foreign
    # keys of every order and card that points at it. SQLite (3.35+) drops a plain column in place.
    op.drop_column('customers', 'card_balance_fen')


def downgrade() -> None:
    op.add_column('customers', sa.Column('card_balance_fen', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE customers SET card_balance_fen = COALESCE((SELECT SUM(balance_fen) FROM member_cards "
               "WHERE member_cards.customer_id = customers.id AND member_cards.status <> 'closed'), 0)")
    with op.batch_alter_table('card_ledger') as batch:
        batch.drop_index(batch.f('ix_card_ledger_order_id'))
        batch.drop_index('ix_card_ledger_created_kind')
        batch.drop_index('ix_card_ledger_card_created')
    op.drop_table('card_ledger')
    with op.batch_alter_table('member_cards') as batch:
        batch.drop_index(batch.f('ix_member_cards_customer_id'))
    op.drop_table('member_cards')
