"""staff phones and survey channel: escalations reach the district manager by SMS; phone surveys

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-06 07:00:00

`users.phone` (E.164, empty when unknown) is where an order's or a complaint's escalation is sent
by SMS to the district manager, or to the supervisors (tickets.escalation). A customer's
`survey_channel` is "sms" (the invitation, one resend, then the survey call) or "phone" (the
survey call at once, no SMS); every existing customer keeps "sms".
"""
import sqlalchemy as sa
from alembic import op


revision = '0017'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('phone', sa.String(length=20), nullable=False, server_default=''))
    with op.batch_alter_table('customers') as batch:
        batch.add_column(sa.Column('survey_channel', sa.String(length=8), nullable=False, server_default='sms'))


def downgrade() -> None:
    with op.batch_alter_table('customers') as batch:
        batch.drop_column('survey_channel')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('phone')
