"""complaint workflow: category, franchisee concerned and its account, escalation, compensation, reopen

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 07:00:00

A complaint is assigned to the franchisee of its order, which answers with its account; past its
deadline it is escalated once (escalated_at, cleared by a reopen); the platform's decision may carry
a compensation (kind + amount in fen); first_response_at and resolved_at measure the 24-hour
commitment. Existing complaints become category "other"; those of an order get its franchisee.
"""
import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch: SQLite cannot add a column with a foreign key in place, so the table is rebuilt there.
    with op.batch_alter_table('complaints') as batch:
        batch.add_column(sa.Column('category', sa.String(length=16), nullable=False, server_default='other'))
        batch.add_column(sa.Column('franchisee_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('franchisee_account', sa.Text(), nullable=False, server_default=''))
        batch.add_column(sa.Column('account_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('account_by', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('escalated_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('first_response_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('compensation_kind', sa.String(length=16), nullable=False, server_default=''))
        batch.add_column(sa.Column('compensation_fen', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('reopen_count', sa.Integer(), nullable=False, server_default='0'))
        batch.create_foreign_key('fk_complaints_franchisee_id_franchisees', 'franchisees', ['franchisee_id'], ['id'])
        batch.create_foreign_key('fk_complaints_account_by_users', 'users', ['account_by'], ['id'])
        batch.create_index(batch.f('ix_complaints_franchisee_id'), ['franchisee_id'], unique=False)
    # A resolved complaint's answer was its first response; an order's complaint concerns its franchisee.
    op.execute("UPDATE complaints SET first_response_at = resolved_at WHERE resolved_at IS NOT NULL")
    op.execute("UPDATE complaints SET franchisee_id = (SELECT franchisee_id FROM work_orders "
               "WHERE work_orders.id = complaints.order_id) WHERE order_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('complaints') as batch:
        batch.drop_index(batch.f('ix_complaints_franchisee_id'))
        batch.drop_constraint('fk_complaints_account_by_users', type_='foreignkey')
        batch.drop_constraint('fk_complaints_franchisee_id_franchisees', type_='foreignkey')
        for column in ('reopen_count', 'compensation_fen', 'compensation_kind', 'first_response_at', 'escalated_at',
                       'account_by', 'account_at', 'franchisee_account', 'franchisee_id', 'category'):
            batch.drop_column(column)
