"""album order, trash purge index, job worker heartbeats

album_assets gets a copy of its asset's sort_at and an index (album_id, sort_at, asset_id), so that an
album's page is read from the album's own index instead of walking the owner's whole timeline. Triggers
keep the copy equal to assets.sort_at (set when a member is added, followed when the media pipeline
changes it), whoever writes the rows; a later migration that rebuilds either table must create them
again. assets.trashed_at gets a partial index for the daily purge. job_workers holds each worker process's
heartbeat for the admin page.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = [
    """CREATE TRIGGER album_assets_take_sort_at AFTER INSERT ON album_assets BEGIN
        UPDATE album_assets SET sort_at = (SELECT sort_at FROM assets WHERE id = NEW.asset_id)
        WHERE album_id = NEW.album_id AND asset_id = NEW.asset_id;
    END""",
    """CREATE TRIGGER assets_give_sort_at AFTER UPDATE OF sort_at ON assets BEGIN
        UPDATE album_assets SET sort_at = NEW.sort_at WHERE asset_id = NEW.id;
    END""",
]
_POSTGRESQL_TRIGGERS = [
    """CREATE FUNCTION album_assets_take_sort_at() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.sort_at := (SELECT sort_at FROM assets WHERE id = NEW.asset_id);
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER album_assets_take_sort_at BEFORE INSERT OR UPDATE OF asset_id ON album_assets
        FOR EACH ROW EXECUTE FUNCTION album_assets_take_sort_at()""",
    """CREATE FUNCTION assets_give_sort_at() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE album_assets SET sort_at = NEW.sort_at WHERE asset_id = NEW.id;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER assets_give_sort_at AFTER UPDATE OF sort_at ON assets
        FOR EACH ROW WHEN (OLD.sort_at IS DISTINCT FROM NEW.sort_at) EXECUTE FUNCTION assets_give_sort_at()""",
]
_DROPS = {
    "sqlite": ["DROP TRIGGER assets_give_sort_at", "DROP TRIGGER album_assets_take_sort_at"],
    "postgresql": ["DROP TRIGGER assets_give_sort_at ON assets", "DROP FUNCTION assets_give_sort_at()",
                   "DROP TRIGGER album_assets_take_sort_at ON album_assets",
                   "DROP FUNCTION album_assets_take_sort_at()"],
}


def upgrade() -> None:
    with op.batch_alter_table('album_assets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sort_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE album_assets SET sort_at = (SELECT sort_at FROM assets WHERE assets.id = album_assets.asset_id)")
    with op.batch_alter_table('album_assets', schema=None) as batch_op:
        batch_op.create_index('ix_album_assets_order', ['album_id', 'sort_at', 'asset_id'], unique=False)
    for statement in _SQLITE_TRIGGERS if op.get_bind().dialect.name == "sqlite" else _POSTGRESQL_TRIGGERS:
        op.execute(statement)
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.create_index('ix_assets_trashed_at', ['trashed_at'], unique=False,
                              sqlite_where=sa.text('trashed_at IS NOT NULL'),
                              postgresql_where=sa.text('trashed_at IS NOT NULL'))

    op.create_table('job_workers',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('host', sa.String(length=200), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('threads', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('jobs_done', sa.Integer(), nullable=False),
    sa.Column('jobs_failed', sa.Integer(), nullable=False),
    sa.Column('current_jobs', sa.Text(), nullable=True),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('job_workers', schema=None) as batch_op:
        batch_op.create_index('ix_job_workers_last_seen_at', ['last_seen_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('job_workers', schema=None) as batch_op:
        batch_op.drop_index('ix_job_workers_last_seen_at')
    op.drop_table('job_workers')

    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_index('ix_assets_trashed_at')
    for statement in _DROPS[op.get_bind().dialect.name]:
        op.execute(statement)
    with op.batch_alter_table('album_assets', schema=None) as batch_op:
        batch_op.drop_index('ix_album_assets_order')
        batch_op.drop_column('sort_at')
