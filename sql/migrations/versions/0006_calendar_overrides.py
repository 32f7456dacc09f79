"""calendar overrides: statutory holidays and make-up workdays an admin enters

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 18:00:00

The chinese-calendar package knows the years up to its release; the State Council publishes
each next year's list in November, and an admin enters it here until the package catches up.
"""
import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'calendar_overrides',
        sa.Column('day', sa.Date(), primary_key=True),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('calendar_overrides')
