"""outbound calls and callback requests: survey calls, callback worklist, click-to-call

Revision ID: 0014
Revises: 0009
Create Date: 2026-12-05 07:00:00

Surveys nobody answered by SMS are called by the platform (AMI Originate or Twilio calls.create),
and callers who asked for a callback (after hours, or instead of holding in the queue) get a
worklist. Each placed call is a row of outbound_calls, unique per attempt, so a job run twice
never places a call twice.
"""
import sqlalchemy as sa
from alembic import op


revision = '0014'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'callback_requests',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('customer_id', sa.Integer(), sa.ForeignKey('customers.id'), nullable=True),
        sa.Column('call_id', sa.Integer(), sa.ForeignKey('calls.id'), nullable=True, unique=True),
        sa.Column('source', sa.String(length=12), nullable=False),
        sa.Column('position', sa.Integer(), nullable=True),
        sa.Column('queued_at', sa.DateTime(), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('handled_by', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False, server_default='1'),
    )
    op.create_index('ix_callback_requests_phone', 'callback_requests', ['phone'])
    op.create_index('ix_callback_requests_worklist', 'callback_requests', ['status', 'queued_at'])
    op.create_table(
        'outbound_calls',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('key', sa.String(length=48), nullable=False, unique=True),
        sa.Column('purpose', sa.String(length=12), nullable=False),
        sa.Column('survey_id', sa.Integer(), sa.ForeignKey('surveys.id', ondelete='CASCADE'), nullable=True),
        sa.Column('callback_id', sa.Integer(), sa.ForeignKey('callback_requests.id', ondelete='CASCADE'),
                  nullable=True),
        sa.Column('order_id', sa.Integer(), sa.ForeignKey('work_orders.id'), nullable=True),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('agent_user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('backend', sa.String(length=12), nullable=False),
        sa.Column('external_id', sa.String(length=64), nullable=True, unique=True),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('reason', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('placed_at', sa.DateTime(), nullable=True),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
    )
    op.create_index('ix_outbound_calls_survey_id', 'outbound_calls', ['survey_id'])
    op.create_index('ix_outbound_calls_callback_id', 'outbound_calls', ['callback_id'])
    op.create_index('ix_outbound_calls_status', 'outbound_calls', ['status'])


def downgrade() -> None:
    op.drop_table('outbound_calls')
    op.drop_table('callback_requests')
