"""gallery search: asset_search (each asset's place, camera and words), its indexes, and two of assets

asset_search holds one row per asset: the place of its GPS (else of the place it was given), reverse-geocoded
offline, as shown and as a folded key; its camera likewise; the folded words of its file name and of the
place and camera. The keys are indexed (owner_id, key, the name as shown: suggestions read the index alone);
the words by each engine's full-text index: on SQLite an FTS5 table (asset_search_words, external content,
by asset_search.id) kept in step by triggers, which a later migration that rebuilds asset_search must create
again; on PostgreSQL a generated tsvector column (the file name's words weighted A, the others B) with a GIN
index. assets gets a partial index of
favourites and one by kind, both in timeline order.

Existing assets are indexed here, in batches of 2,000: about 2.5 s per 10,000 assets on SQLite (the place
of each is found in the bundled list in 60 µs), so that search is whole from the first request instead of
filling in behind a job while people use it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08
"""

from types import SimpleNamespace

from alembic import op
import sqlalchemy as sa

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

_BATCH = 2000
_TSVECTOR = ("setweight(to_tsvector('simple', file_words), 'A') || "
             "setweight(to_tsvector('simple', words), 'B')")
_SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE asset_search_words USING fts5(file_words, words, content='asset_search', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "INSERT INTO asset_search_words(asset_search_words) VALUES ('rebuild')",
    "CREATE TRIGGER asset_search_insert AFTER INSERT ON asset_search BEGIN "
    "INSERT INTO asset_search_words(rowid, file_words, words) VALUES (new.id, new.file_words, new.words); END",
    "CREATE TRIGGER asset_search_delete AFTER DELETE ON asset_search BEGIN "
    "INSERT INTO asset_search_words(asset_search_words, rowid, file_words, words) "
    "VALUES ('delete', old.id, old.file_words, old.words); END",
    "CREATE TRIGGER asset_search_update AFTER UPDATE ON asset_search BEGIN "
    "INSERT INTO asset_search_words(asset_search_words, rowid, file_words, words) "
    "VALUES ('delete', old.id, old.file_words, old.words); "
    "INSERT INTO asset_search_words(rowid, file_words, words) VALUES (new.id, new.file_words, new.words); END",
]
_KEYS = ("city", "region", "country", "camera")

_assets = sa.table("assets", sa.column("id", sa.Uuid()), sa.column("owner_id", sa.Integer()),
                   sa.column("original_filename", sa.Text()), sa.column("place_latitude", sa.Float()),
                   sa.column("place_longitude", sa.Float()))
_media = sa.table("asset_media", sa.column("asset_id", sa.Uuid()), sa.column("latitude", sa.Float()),
                  sa.column("longitude", sa.Float()), sa.column("make", sa.String()), sa.column("model", sa.String()))


def upgrade() -> None:
    search = op.create_table('asset_search',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), primary_key=True, autoincrement=True),
        sa.Column('asset_id', sa.Uuid(), sa.ForeignKey('assets.id', ondelete='CASCADE'), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        *(sa.Column(name, sa.String(length=200), nullable=True) for name in ('city', 'region', 'country')),
        *(sa.Column(f'{name}_key', sa.String(length=200), nullable=True) for name in ('city', 'region', 'country')),
        sa.Column('camera', sa.String(length=400), nullable=True),
        sa.Column('camera_key', sa.String(length=400), nullable=True),
        sa.Column('file_words', sa.Text(), nullable=False),
        sa.Column('words', sa.Text(), nullable=False),
        sa.UniqueConstraint('asset_id', name='uq_asset_search_asset_id'),
    )
    _index_existing(search)
    for name in _KEYS:
        op.create_index(f'ix_asset_search_{name}', 'asset_search', ['owner_id', f'{name}_key', name])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE asset_search ADD COLUMN search_vector tsvector "
                   f"GENERATED ALWAYS AS ({_TSVECTOR}) STORED")
        op.execute("CREATE INDEX ix_asset_search_words ON asset_search USING gin (search_vector)")
    else:
        for statement in _SQLITE_SEARCH:
            op.execute(statement)
    op.create_index('ix_assets_favorites', 'assets', ['owner_id', 'sort_at', 'id'],
                    sqlite_where=sa.text('is_favorite = 1'), postgresql_where=sa.text('is_favorite'))
    op.create_index('ix_assets_kind', 'assets', ['owner_id', 'kind', 'sort_at', 'id'])


def _index_existing(search: sa.Table) -> None:
    """A search row for every asset there is, from its row and its media row, in batches by asset id."""
    from phonecloud.gallery.search.index import row_of

    connection = op.get_bind()
    query = (sa.select(_assets, _media.c.asset_id.label("media_id"), _media.c.latitude, _media.c.longitude,
                       _media.c.make, _media.c.model)
             .outerjoin(_media, _media.c.asset_id == _assets.c.id).order_by(_assets.c.id).limit(_BATCH))
    after = None
    while True:
        batch = connection.execute(query if after is None else query.where(_assets.c.id > after)).all()
        if not batch:
            return
        connection.execute(sa.insert(search), [row_of(item, item if item.media_id is not None else None)
                                               for item in (SimpleNamespace(**row._mapping) for row in batch)])
        after = batch[-1].id


def downgrade() -> None:
    op.drop_index('ix_assets_kind', table_name='assets')
    op.drop_index('ix_assets_favorites', table_name='assets')
    if op.get_bind().dialect.name == 'sqlite':
        for trigger in ('asset_search_insert', 'asset_search_delete', 'asset_search_update'):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS asset_search_words")
    op.drop_table('asset_search')
