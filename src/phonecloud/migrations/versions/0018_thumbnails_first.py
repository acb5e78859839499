"""asset_media.preview_error: the media job makes the thumbnail only, and the preview follows (a job of lower
priority, or its first request); a preview that cannot be made, while the thumbnail could, says why here

Rows written before keep both their derivatives: nothing to fill in. Going back, the older version expects
both from the media job: the items still without a preview get theirs queued again, and the preview jobs,
which it has no worker for, go.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-09
"""

import datetime as dt
import uuid

from alembic import op
import sqlalchemy as sa

from phonecloud.core.db import UTCDateTime

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

_assets = sa.table("assets", sa.column("id", sa.Uuid()), sa.column("owner_id", sa.Integer()))
_media = sa.table("asset_media", sa.column("asset_id", sa.Uuid()), sa.column("state", sa.String()),
                  sa.column("preview_key", sa.String()))
_jobs = sa.table("jobs", sa.column("kind", sa.String()), sa.column("subject", sa.String()),
                 sa.column("owner_id", sa.Integer()), sa.column("status", sa.String()),
                 sa.column("attempts", sa.Integer()), sa.column("max_attempts", sa.Integer()),
                 sa.column("run_after", UTCDateTime()), sa.column("created_at", UTCDateTime()))


def upgrade() -> None:
    with op.batch_alter_table('asset_media', schema=None) as batch_op:
        batch_op.add_column(sa.Column('preview_error', sa.Text(), nullable=True))


def downgrade() -> None:
    connection = op.get_bind()
    waiting = connection.execute(
        sa.select(_assets.c.id, _assets.c.owner_id).join(_media, _media.c.asset_id == _assets.c.id)
        .where(_media.c.state == "ready", _media.c.preview_key.is_(None))).all()
    now = dt.datetime.now(dt.UTC)
    for asset_id, owner_id in waiting:
        subject = f"asset:{uuid.UUID(str(asset_id))}"
        connection.execute(sa.delete(_jobs).where(_jobs.c.kind == "media.process", _jobs.c.subject == subject))
        connection.execute(sa.insert(_jobs).values(kind="media.process", subject=subject, owner_id=owner_id,
                                                   status="queued", attempts=0, max_attempts=5, run_after=now,
                                                   created_at=now))
    connection.execute(sa.delete(_jobs).where(_jobs.c.kind == "media.preview"))
    with op.batch_alter_table('asset_media', schema=None) as batch_op:
        batch_op.drop_column('preview_error')
