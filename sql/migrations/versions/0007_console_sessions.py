"""console sessions checked on every request; the source address in the audit trail

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 18:00:00

A console log-in becomes a row of `console_sessions` (the cookie carries a random token whose
SHA-256 is stored): log-out, an admin, a password reset, a role change or deactivation end it
at once, one by one. It replaces `users.session_epoch`, which could only end every session of a
user together and left a copied cookie working after log-out. Sessions open at upgrade time
carry no token and end: everyone logs in again once. `audit_log.remote_addr` keeps where the
actor was (log-ins, failed log-ins and every console change).
"""
import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'console_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('remote_addr', sa.String(length=64), nullable=False),
        sa.Column('user_agent', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.Column('ended_reason', sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    with op.batch_alter_table('console_sessions') as batch:
        batch.create_index(batch.f('ix_console_sessions_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('audit_log') as batch:
        batch.add_column(sa.Column('remote_addr', sa.String(length=64), nullable=False, server_default=''))
    with op.batch_alter_table('users') as batch:
        batch.drop_column('session_epoch')


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('session_epoch', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('audit_log') as batch:
        batch.drop_column('remote_addr')
    with op.batch_alter_table('console_sessions') as batch:
        batch.drop_index(batch.f('ix_console_sessions_user_id'))
    op.drop_table('console_sessions')
