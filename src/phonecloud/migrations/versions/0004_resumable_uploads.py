"""resumable uploads (tus)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('resumable_uploads',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('length', sa.BigInteger(), nullable=False),
    sa.Column('offset', sa.BigInteger(), nullable=False),
    sa.Column('metadata_header', sa.Text(), nullable=True),
    sa.Column('filename', sa.Text(), nullable=False),
    sa.Column('file_modified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('declared_sha1', sa.String(length=40), nullable=True),
    sa.Column('asset_id', sa.Uuid(), nullable=True),
    sa.Column('duplicate', sa.Boolean(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lock_token', sa.String(length=100), nullable=True),
    sa.Column('lock_until', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('resumable_uploads', schema=None) as batch_op:
        batch_op.create_index('ix_resumable_uploads_expiry', ['state', 'expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_resumable_uploads_owner_id'), ['owner_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('resumable_uploads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resumable_uploads_owner_id'))
        batch_op.drop_index('ix_resumable_uploads_expiry')

    op.drop_table('resumable_uploads')
