"""receipt questions: when a mainland provider is next asked for a message's delivery receipt

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 14:30:00

`sms_messages.receipt_check_at` is when the `sms-receipts` job may next ask the provider how a
message fared (sms/receipts.py): after each answer without a receipt it waits as long again as
the message has waited, so a phone switched off for three days costs a dozen questions rather
than one per run. Empty until the first question (every existing message is asked at once).
"""
import sqlalchemy as sa
from alembic import op


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sms_messages') as batch:
        batch.add_column(sa.Column('receipt_check_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sms_messages') as batch:
        batch.drop_column('receipt_check_at')
