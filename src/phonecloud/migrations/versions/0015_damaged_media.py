"""asset_media.damage: a damaged or truncated photo is shown as far as it decodes, and says so

Photos whose preview failed because libvips refused their data are rendered again by the media job, which
now decodes them as browsers do: their media job is queued afresh (others' failures stay as they were).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

import datetime as dt
import uuid

from alembic import op
import sqlalchemy as sa

from phonecloud.core.db import UTCDateTime

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

# The reasons derivatives.py gave when libvips could not decode a photo's data, which Pillow may.
_DECODE_FAILURES = ("truncated or damaged image:%", "cannot decode image:%", "not a readable image:%")

_assets = sa.table("assets", sa.column("id", sa.Uuid()), sa.column("owner_id", sa.Integer()),
                   sa.column("kind", sa.String()))
_media = sa.table("asset_media", sa.column("asset_id", sa.Uuid()), sa.column("state", sa.String()),
                  sa.column("error", sa.Text()))
_jobs = sa.table("jobs", sa.column("kind", sa.String()), sa.column("subject", sa.String()),
                 sa.column("owner_id", sa.Integer()), sa.column("status", sa.String()),
                 sa.column("attempts", sa.Integer()), sa.column("max_attempts", sa.Integer()),
                 sa.column("run_after", UTCDateTime()), sa.column("created_at", UTCDateTime()))


def upgrade() -> None:
    with op.batch_alter_table('asset_media', schema=None) as batch_op:
        batch_op.add_column(sa.Column('damage', sa.Text(), nullable=True))
    connection = op.get_bind()
    failed = connection.execute(
        sa.select(_assets.c.id, _assets.c.owner_id).join(_media, _media.c.asset_id == _assets.c.id)
        .where(_assets.c.kind == "photo", _media.c.state == "failed",
               sa.or_(*(_media.c.error.like(reason) for reason in _DECODE_FAILURES)))).all()
    now = dt.datetime.now(dt.UTC)
    for asset_id, owner_id in failed:
        subject = f"asset:{uuid.UUID(str(asset_id))}"
        connection.execute(sa.delete(_jobs).where(_jobs.c.kind == "media.process", _jobs.c.subject == subject))
        connection.execute(sa.insert(_jobs).values(kind="media.process", subject=subject, owner_id=owner_id,
                                                   status="queued", attempts=0, max_attempts=5, run_after=now,
                                                   created_at=now))


def downgrade() -> None:
    with op.batch_alter_table('asset_media', schema=None) as batch_op:
        batch_op.drop_column('damage')
