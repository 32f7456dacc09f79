"""SMS to mainland phones: notices as template + params, retries with back-off, sent time

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-05 07:00:00

Aliyun and Tencent send approved templates with parameters, so an outbound row keeps its notice
kind (`template`) and `params` beside the rendered body; a refused or rate-limited message waits
for `next_attempt_at` (back-off, `attempts` so far); `sent_at` is what per-number limits count.
"""
import sqlalchemy as sa
from alembic import op


revision = '0011'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sms_messages') as batch:
        batch.add_column(sa.Column('template', sa.String(length=24), nullable=False, server_default=''))
        batch.add_column(sa.Column('params', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('next_attempt_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('sent_at', sa.DateTime(), nullable=True))
        batch.create_index('ix_sms_phone_sent', ['phone', 'sent_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sms_messages') as batch:
        batch.drop_index('ix_sms_phone_sent')
        batch.drop_column('sent_at')
        batch.drop_column('next_attempt_at')
        batch.drop_column('attempts')
        batch.drop_column('params')
        batch.drop_column('template')
