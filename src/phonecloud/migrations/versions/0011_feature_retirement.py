"""retirements of a kind of data (their audit log and per-user deletion receipts); notices for several
countries, posted once by what posted them (origin), and tied to a retirement

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

from phonecloud.core.db import UTCDateTime

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('retirements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('groups', sa.Text(), nullable=False),
    sa.Column('exempt', sa.Text(), nullable=False),
    sa.Column('announce_at', UTCDateTime(), nullable=False),
    sa.Column('stop_sync_at', UTCDateTime(), nullable=False),
    sa.Column('deadline_at', UTCDateTime(), nullable=False),
    sa.Column('delete_at', UTCDateTime(), nullable=False),
    sa.Column('refund', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('report', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('deletion_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('retirement_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('items', sa.BigInteger(), nullable=False),
    sa.Column('rows', sa.BigInteger(), nullable=False),
    sa.Column('blobs', sa.BigInteger(), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('released_bytes', sa.BigInteger(), nullable=False),
    sa.Column('manifest_sha256', sa.String(length=64), nullable=False),
    sa.Column('rows_left', sa.BigInteger(), nullable=True),
    sa.Column('bytes_left', sa.BigInteger(), nullable=True),
    sa.Column('started_at', UTCDateTime(), nullable=False),
    sa.Column('finished_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['retirement_id'], ['retirements.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('retirement_id', 'user_id', name='uq_receipt_retirement_user')
    )
    op.create_index('ix_deletion_receipts_user', 'deletion_receipts', ['user_id'], unique=False)
    op.create_table('retirement_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('retirement_id', sa.Integer(), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=320), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['retirement_id'], ['retirements.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_retirement_events', 'retirement_events', ['retirement_id', 'id'], unique=False)
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('countries', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('origin', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('retirement_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('receipts_of', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint('uq_notices_origin', ['origin'])


def downgrade() -> None:
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_constraint('uq_notices_origin', type_='unique')
        for column in ('receipts_of', 'retirement_id', 'origin', 'countries'):
            batch_op.drop_column(column)
    for table in ('retirement_events', 'deletion_receipts', 'retirements'):
        op.drop_table(table)
