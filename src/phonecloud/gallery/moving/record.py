"""A move's per-item record in the server's database: the same questions and answers as the client's
record file (client/migrate/record.py), so that the targets and the engine cannot tell them apart. Each row
is written once the target verified the item, in its own transaction or with its batch's rows."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select, update

from phonecloud.client.migrate.record import Outcome, Outcomes, Row
from phonecloud.core.db import Database, utcnow
from phonecloud.gallery.moving.models import MovedAlbum, MovedItem


class MoveRecord(Outcomes):
    def __init__(self, db: Database, move_id: uuid.UUID):
        super().__init__()
        self.db, self.move_id = db, move_id

    def load(self) -> dict[str, Row]:
        with self.db.read() as session:
            items = session.scalars(select(MovedItem).where(MovedItem.move_id == self.move_id))
            return {item.asset_id: Row(item.asset_id, item.sha1, item.state, item.target_ref, item.verified_by,
                                       item.reason, item.settled) for item in items}

    def _put_all(self, outcomes: list[Outcome]) -> None:
        with self.db.write() as session:
            for asset_id, sha1, size, state, target_ref, verified_by, reason in outcomes:
                session.execute(delete(MovedItem).where(MovedItem.move_id == self.move_id,
                                                        MovedItem.asset_id == asset_id))
                session.add(MovedItem(move_id=self.move_id, asset_id=asset_id, sha1=sha1, size_bytes=size,
                                      state=state, target_ref=target_ref, verified_by=verified_by, reason=reason,
                                      settled=False, at=utcnow()))

    def settle(self, asset_ids: list[str]) -> None:
        with self.db.write() as session:
            for start in range(0, len(asset_ids), 500):
                session.execute(update(MovedItem).where(MovedItem.move_id == self.move_id,
                                                        MovedItem.asset_id.in_(asset_ids[start:start + 500]))
                                .values(settled=True))

    def albums(self) -> dict[str, str]:
        with self.db.read() as session:
            return dict(session.execute(select(MovedAlbum.album_id, MovedAlbum.target_ref)
                                        .where(MovedAlbum.move_id == self.move_id)).all())

    def album(self, album_id: str, target_ref: str) -> None:
        with self.db.write() as session:
            session.execute(delete(MovedAlbum).where(MovedAlbum.move_id == self.move_id,
                                                     MovedAlbum.album_id == album_id))
            session.add(MovedAlbum(move_id=self.move_id, album_id=album_id, target_ref=target_ref))
