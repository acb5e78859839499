"""export snapshots (portability)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('exports',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ready_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('base_url', sa.String(length=500), nullable=False),
    sa.Column('part_size', sa.BigInteger(), nullable=False),
    sa.Column('zip64_from', sa.BigInteger(), nullable=False),
    sa.Column('hash_total_bytes', sa.BigInteger(), nullable=False),
    sa.Column('hash_done_bytes', sa.BigInteger(), nullable=False),
    sa.Column('generated_key', sa.String(length=200), nullable=True),
    sa.Column('asset_count', sa.Integer(), nullable=False),
    sa.Column('file_count', sa.Integer(), nullable=False),
    sa.Column('total_bytes', sa.BigInteger(), nullable=False),
    sa.Column('manifest_sha256', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exports_owner_id'), ['owner_id'], unique=False)

    op.create_table('export_parts',
    sa.Column('export_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('cd_offset', sa.BigInteger(), nullable=False),
    sa.Column('cd_size', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['export_id'], ['exports.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('export_id', 'number')
    )
    op.create_table('export_entries',
    sa.Column('export_id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('part', sa.Integer(), nullable=False),
    sa.Column('offset', sa.BigInteger(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('crc32', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('mtime', sa.BigInteger(), nullable=False),
    sa.Column('blob_key', sa.String(length=200), nullable=True),
    sa.Column('blob_offset', sa.BigInteger(), nullable=False),
    sa.Column('asset_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['export_id'], ['exports.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('export_id', 'seq')
    )
    with op.batch_alter_table('export_entries', schema=None) as batch_op:
        batch_op.create_index('ix_export_entries_part_offset', ['export_id', 'part', 'offset'], unique=False)

    op.create_table('asset_digests',
    sa.Column('asset_id', sa.Uuid(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('asset_id')
    )


def downgrade() -> None:
    op.drop_table('asset_digests')
    with op.batch_alter_table('export_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_export_entries_part_offset')

    op.drop_table('export_entries')
    op.drop_table('export_parts')
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exports_owner_id'))

    op.drop_table('exports')
