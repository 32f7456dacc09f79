"""customer records and one-time codes: do-not-call, merged records, versioned edits, SMS codes

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-05 07:00:00

Customer records get a do-not-call flag (outbound calls and survey messages skip them), a link to
the record they were merged into, and a version column (two staff editing one record at once: the
second is told). `one_time_codes` keeps the keyed hashes of the 6-digit codes the public lookup
and online booking send by SMS.
"""
import sqlalchemy as sa
from alembic import op


revision = '0016'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customers') as batch:
        batch.add_column(sa.Column('do_not_call', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch.create_foreign_key('fk_customers_merged_into_id', 'customers', ['merged_into_id'], ['id'])
    op.create_table(
        'one_time_codes',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('purpose', sa.String(length=12), nullable=False),
        sa.Column('subject', sa.String(length=32), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('remote_addr', sa.String(length=64), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
    )
    op.create_index('ix_one_time_codes_phone', 'one_time_codes', ['phone'])
    op.create_index('ix_one_time_codes_remote_addr', 'one_time_codes', ['remote_addr'])
    op.create_index('ix_one_time_codes_created_at', 'one_time_codes', ['created_at'])
    op.create_index('ix_one_time_codes_subject', 'one_time_codes', ['purpose', 'subject', 'created_at'])


def downgrade() -> None:
    op.drop_table('one_time_codes')
    with op.batch_alter_table('customers') as batch:
        batch.drop_constraint('fk_customers_merged_into_id', type_='foreignkey')
        batch.drop_column('version')
        batch.drop_column('merged_into_id')
        batch.drop_column('do_not_call')
