"""follow-through: day-before reminders, urging (催办) and escalation of late work orders

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 07:00:00

Each work order keeps the service time its reminder was sent for, and the state of its urging:
why it is late, how many urgings, when last, and when it was escalated to the district manager.
"""
import sqlalchemy as sa
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite adds nullable columns and NOT NULL columns with a default in place: no table rebuild.
    op.add_column('work_orders', sa.Column('reminded_for', sa.DateTime(), nullable=True))
    op.add_column('work_orders', sa.Column('urge_reason', sa.String(length=16), nullable=False, server_default=''))
    op.add_column('work_orders', sa.Column('urge_count', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('work_orders', sa.Column('urged_at', sa.DateTime(), nullable=True))
    op.add_column('work_orders', sa.Column('escalated_at', sa.DateTime(), nullable=True))
    op.create_index('ix_work_orders_escalated_at', 'work_orders', ['escalated_at'])


def downgrade() -> None:
    op.drop_index('ix_work_orders_escalated_at', table_name='work_orders')
    with op.batch_alter_table('work_orders') as batch:
        for column in ('escalated_at', 'urged_at', 'urge_count', 'urge_reason', 'reminded_for'):
            batch.drop_column(column)
