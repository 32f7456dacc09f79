"""when an agent's presence last changed (the Twilio wrap-up timer)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 18:40:00

An agent whose softphone call ended is in wrap-up; after WRAP_UP_SECONDS the scheduler makes
them available again, as Asterisk's queue `wrapuptime` does. It needs the time the wrap-up began.
Existing rows get NULL, which the timer treats as long past.
"""
import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('presence_since', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('presence_since')
