"""franchisee working hours: accept deadlines count working minutes

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 19:00:00

An order dispatched at 23:38 had its 30-minute accept deadline at 00:08 and walked through every
candidate while they slept. Deadlines now count the franchisee's working hours ("HH:MM-HH:MM",
local); existing rows get "", which means the hotline's BUSINESS_HOURS.
"""
import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite adds a NOT NULL column with a default in place: no table rebuild needed.
    op.add_column('franchisees', sa.Column('business_hours', sa.String(length=11), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('franchisees') as batch:
        batch.drop_column('business_hours')
