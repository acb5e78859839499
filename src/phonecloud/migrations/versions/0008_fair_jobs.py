"""jobs.owner_id: whose work a job is, so that workers take owners in turn

Jobs still to run get their owner from the asset or export they are about (finished ones keep 0, the
server's own, which is all that history needs).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# The subjects name ids as uuid.UUID prints them; SQLite stores UUIDs as 32 hexadecimal digits.
_HYPHENATED = {
    "sqlite": "substr({0}, 1, 8) || '-' || substr({0}, 9, 4) || '-' || substr({0}, 13, 4) || '-' || "
              "substr({0}, 17, 4) || '-' || substr({0}, 21)",
    "postgresql": "CAST({0} AS TEXT)",
}
_OWNED_SUBJECTS = {"media.process": ("assets", "asset:"), "export.prepare": ("exports", "export:")}


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_id', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_index('ix_jobs_turns', ['status', 'owner_id', 'run_after'], unique=False)
    hyphenated = _HYPHENATED[op.get_bind().dialect.name]
    for kind, (table, prefix) in _OWNED_SUBJECTS.items():
        op.execute(f"UPDATE jobs SET owner_id = COALESCE((SELECT owner_id FROM {table} "
                   f"WHERE '{prefix}' || {hyphenated.format(table + '.id')} = jobs.subject), 0) "
                   f"WHERE kind = '{kind}' AND status IN ('queued', 'running')")


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_turns')
        batch_op.drop_column('owner_id')
