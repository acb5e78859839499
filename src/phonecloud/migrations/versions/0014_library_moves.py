"""Moves of a library to another service started from the web app: the move with its target, progress and
report, and its per-item and per-album record

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

from phonecloud.core.db import UTCDateTime

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'library_moves',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('target', sa.String(length=32), nullable=False),
        sa.Column('label', sa.Text(), nullable=False),
        sa.Column('target_digest', sa.String(length=64), nullable=False),
        sa.Column('credentials', sa.Text(), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('pause_requested', sa.Boolean(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('files_total', sa.BigInteger(), nullable=False),
        sa.Column('files_done', sa.BigInteger(), nullable=False),
        sa.Column('bytes_total', sa.BigInteger(), nullable=False),
        sa.Column('bytes_done', sa.BigInteger(), nullable=False),
        sa.Column('report', sa.Text(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('started_at', UTCDateTime(), nullable=True),
        sa.Column('finished_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_library_moves_owner', 'library_moves', ['owner_id', 'created_at'], unique=False)
    op.create_index('ix_library_moves_target', 'library_moves', ['owner_id', 'target_digest'], unique=False)
    op.create_table(
        'library_move_items',
        sa.Column('move_id', sa.Uuid(), nullable=False),
        sa.Column('asset_id', sa.String(length=64), nullable=False),
        sa.Column('sha1', sa.String(length=40), nullable=False),
        sa.Column('size_bytes', sa.BigInteger(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('target_ref', sa.Text(), nullable=True),
        sa.Column('verified_by', sa.String(length=32), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('settled', sa.Boolean(), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['move_id'], ['library_moves.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('move_id', 'asset_id'),
    )
    op.create_table(
        'library_move_albums',
        sa.Column('move_id', sa.Uuid(), nullable=False),
        sa.Column('album_id', sa.String(length=64), nullable=False),
        sa.Column('target_ref', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['move_id'], ['library_moves.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('move_id', 'album_id'),
    )


def downgrade() -> None:
    op.drop_table('library_move_albums')
    op.drop_table('library_move_items')
    op.drop_index('ix_library_moves_target', table_name='library_moves')
    op.drop_index('ix_library_moves_owner', table_name='library_moves')
    op.drop_table('library_moves')
