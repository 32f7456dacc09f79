"""row versions for optimistic concurrency on work orders, complaints and surveys

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 18:10:00

Each UPDATE of these rows names the version it read (SQLAlchemy's version_id_col), so a
concurrent change on PostgreSQL is refused rather than lost. Existing rows start at 1.
"""
import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

TABLES = ('work_orders', 'complaints', 'surveys')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('version')
