"""exports remember when each part was last downloaded whole and when the client verified every part
against the manifest (a retirement's notices say whether a complete export left the server)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

from phonecloud.core.db import UTCDateTime

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('export_parts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('downloaded_at', UTCDateTime(), nullable=True))
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verified_at', UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.drop_column('verified_at')
    with op.batch_alter_table('export_parts', schema=None) as batch_op:
        batch_op.drop_column('downloaded_at')
