"""resumable_uploads.destination (the general intake); account_deletions (deletions and their receipts)

Every resumable upload made before the general intake went to the gallery, so existing rows get "gallery".

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('resumable_uploads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('destination', sa.String(length=64), nullable=False, server_default='gallery'))
    op.create_table('account_deletions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('email_sha256', sa.String(length=64), nullable=False),
    sa.Column('requested_by', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('receipt', sa.Text(), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('account_deletions', schema=None) as batch_op:
        batch_op.create_index('ix_account_deletions_user_id', ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('account_deletions', schema=None) as batch_op:
        batch_op.drop_index('ix_account_deletions_user_id')
    op.drop_table('account_deletions')
    with op.batch_alter_table('resumable_uploads', schema=None) as batch_op:
        batch_op.drop_column('destination')
