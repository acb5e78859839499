"""jobs.priority: work that can wait (a preview, which its first view makes anyway) is queued with priority 1
and claimed only when no job of priority 0 is ready; both claim indexes start with (status, priority), so that
the claims of priority 0 never walk past a backlog of later jobs (a first backup's thousands of previews)

The preview jobs already queued (revision 0018) become later ones.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-09
"""

from alembic import op
import sqlalchemy as sa

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.Integer(), nullable=False, server_default='0'))
        batch_op.drop_index('ix_jobs_ready')
        batch_op.drop_index('ix_jobs_turns')
        batch_op.create_index('ix_jobs_ready', ['status', 'priority', 'run_after'], unique=False)
        batch_op.create_index('ix_jobs_turns', ['status', 'priority', 'owner_id', 'run_after'], unique=False)
    op.execute("UPDATE jobs SET priority = 1 WHERE kind = 'media.preview'")


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_turns')
        batch_op.drop_index('ix_jobs_ready')
        batch_op.create_index('ix_jobs_ready', ['status', 'run_after'], unique=False)
        batch_op.create_index('ix_jobs_turns', ['status', 'owner_id', 'run_after'], unique=False)
        batch_op.drop_column('priority')
