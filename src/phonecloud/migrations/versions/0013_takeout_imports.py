"""Google Takeout imported on the server: the zip parts a user uploads (or the administrator names on disk)
and the imports that read them; assets keep a description, an archived flag, people's names and the place
Google Photos gave them

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

from phonecloud.core.db import UTCDateTime

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy of the table): album_assets' triggers refer to assets.
    op.add_column('assets', sa.Column('description', sa.Text(), server_default='', nullable=False))
    op.add_column('assets', sa.Column('is_archived', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('assets', sa.Column('people', sa.Text(), server_default='[]', nullable=False))
    for column in ('place_latitude', 'place_longitude', 'place_altitude'):
        op.add_column('assets', sa.Column(column, sa.Float(), nullable=True))
    op.create_table(
        'takeout_imports',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
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
    op.create_index('ix_takeout_imports_owner', 'takeout_imports', ['owner_id', 'created_at'], unique=False)
    op.create_table(
        'takeout_parts',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('import_id', sa.Uuid(), nullable=True),
        sa.Column('filename', sa.Text(), nullable=False),
        sa.Column('size_bytes', sa.BigInteger(), nullable=False),
        sa.Column('sha1', sa.String(length=40), nullable=True),
        sa.Column('blob_key', sa.String(length=200), nullable=True),
        sa.Column('path', sa.Text(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['import_id'], ['takeout_imports.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_takeout_parts_owner', 'takeout_parts', ['owner_id', 'import_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_takeout_parts_owner', table_name='takeout_parts')
    op.drop_table('takeout_parts')
    op.drop_index('ix_takeout_imports_owner', table_name='takeout_imports')
    op.drop_table('takeout_imports')
    for column in ('place_altitude', 'place_longitude', 'place_latitude', 'people', 'is_archived', 'description'):
        op.drop_column('assets', column)
