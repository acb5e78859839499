"""Sharing: links to an album or a selection (token kept as a SHA-256, optional password and expiry), and
albums shared with other users of the server (viewer or contributor)

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-08
"""

from alembic import op
import sqlalchemy as sa

from phonecloud.core.db import UTCDateTime

revision = '0017'
down_revision = '0015'  # beside 0016 (search), also from 0015: the database upgrades to every head
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'shares',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('album_id', sa.Uuid(), nullable=True),
        sa.Column('title', sa.Text(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('token_prefix', sa.String(length=8), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=True),
        sa.Column('expires_at', UTCDateTime(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['album_id'], ['albums.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_shares_owner', 'shares', ['owner_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_shares_album_id'), 'shares', ['album_id'], unique=False)
    op.create_table(
        'share_assets',
        sa.Column('share_id', sa.Uuid(), nullable=False),
        sa.Column('asset_id', sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(['share_id'], ['shares.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('share_id', 'asset_id'),
    )
    op.create_index(op.f('ix_share_assets_asset_id'), 'share_assets', ['asset_id'], unique=False)
    op.create_table(
        'album_members',
        sa.Column('album_id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('added_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['album_id'], ['albums.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('album_id', 'user_id'),
    )
    op.create_index(op.f('ix_album_members_user_id'), 'album_members', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_album_members_user_id'), table_name='album_members')
    op.drop_table('album_members')
    op.drop_index(op.f('ix_share_assets_asset_id'), table_name='share_assets')
    op.drop_table('share_assets')
    op.drop_index(op.f('ix_shares_album_id'), table_name='shares')
    op.drop_index('ix_shares_owner', table_name='shares')
    op.drop_table('shares')
