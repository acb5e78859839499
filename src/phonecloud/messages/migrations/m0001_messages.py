"""messages: conversations, messages and their parts, attachments, calls, imports, own numbers; full-text
search with each engine's own index (SQLite: an FTS5 table kept in step by triggers; PostgreSQL: a generated
tsvector column with a GIN index)

Revision ID: m0001
Revises: 0009
Create Date: 2026-12-08
"""

from alembic import op
import sqlalchemy as sa

from phonecloud.core.db import UTCDateTime
from phonecloud.messages.models import KeptText, RowId

revision = 'm0001'
down_revision = '0009'
branch_labels = None
depends_on = None

# The 'simple' configuration: no stemming for one language, as messages are written in any. '<', '>' and
# '&' become blanks first: PostgreSQL's parser would take "<word>" for an HTML tag and "&x;" for an entity,
# and leave them out of the index.
_TSVECTOR = "to_tsvector('simple', translate(search_text, '<>&', '   '))"
_SQLITE_SEARCH = [
    # External content: the text is the messages table's own; the index refers to its rowid (messages.id).
    "CREATE VIRTUAL TABLE message_search USING fts5(search_text, content='messages', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER messages_search_insert AFTER INSERT ON messages BEGIN "
    "INSERT INTO message_search(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN "
    "INSERT INTO message_search(message_search, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER messages_search_update AFTER UPDATE OF search_text ON messages BEGIN "
    "INSERT INTO message_search(message_search, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO message_search(rowid, search_text) VALUES (new.id, new.search_text); END",
]


def _owner() -> sa.Column:
    return sa.Column('owner_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='CASCADE'), nullable=False)


def upgrade() -> None:
    op.create_table('message_imports',
        sa.Column('id', sa.Uuid(), primary_key=True),
        _owner(),
        sa.Column('filename', sa.Text(), nullable=False),
        sa.Column('format', sa.String(length=40), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('size_bytes', sa.BigInteger(), nullable=False),
        sa.Column('sha1', sa.String(length=40), nullable=False),
        sa.Column('blob_key', sa.String(length=200), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('records_read', sa.BigInteger(), nullable=False),
        sa.Column('bytes_read', sa.BigInteger(), nullable=False),
        sa.Column('imported', sa.BigInteger(), nullable=False),
        sa.Column('duplicates', sa.BigInteger(), nullable=False),
        sa.Column('skipped', sa.BigInteger(), nullable=False),
        sa.Column('skipped_reasons', sa.Text(), nullable=False),
        sa.Column('attachments', sa.BigInteger(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('error_line', sa.BigInteger(), nullable=True),
        sa.Column('error_record', sa.BigInteger(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('started_at', UTCDateTime(), nullable=True),
        sa.Column('finished_at', UTCDateTime(), nullable=True),
    )
    op.create_index('ix_message_imports_owner', 'message_imports', ['owner_id', 'created_at', 'id'])
    op.create_table('message_conversations',
        sa.Column('id', sa.Uuid(), primary_key=True),
        _owner(),
        sa.Column('participants_key', sa.String(length=64), nullable=False),
        sa.Column('participants', sa.Text(), nullable=False),
        sa.Column('title', KeptText(), nullable=False),
        sa.Column('message_count', sa.BigInteger(), nullable=False),
        sa.Column('last_message_ms', sa.BigInteger(), nullable=False),
        sa.Column('snippet', KeptText(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.UniqueConstraint('owner_id', 'participants_key', name='uq_message_conversations_owner_participants'),
    )
    op.create_index('ix_message_conversations_recent', 'message_conversations', ['owner_id', 'last_message_ms', 'id'])
    op.create_table('messages',
        sa.Column('id', RowId, primary_key=True, autoincrement=True),
        _owner(),
        sa.Column('conversation_id', sa.Uuid(), sa.ForeignKey('message_conversations.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('import_id', sa.Uuid(), sa.ForeignKey('message_imports.id', ondelete='SET NULL'), nullable=True),
        sa.Column('identity', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=3), nullable=False),
        sa.Column('box', sa.BigInteger(), nullable=False),
        sa.Column('date_ms', sa.BigInteger(), nullable=False),
        sa.Column('date_sent_ms', sa.BigInteger(), nullable=True),
        sa.Column('read', sa.Boolean(), nullable=True),
        sa.Column('locked', sa.Boolean(), nullable=True),
        sa.Column('status', sa.BigInteger(), nullable=True),
        sa.Column('subject', KeptText(), nullable=True),
        sa.Column('body', KeptText(), nullable=True),
        sa.Column('sub_id', sa.BigInteger(), nullable=True),
        sa.Column('service_center', KeptText(), nullable=True),
        sa.Column('contact_name', KeptText(), nullable=True),
        sa.Column('mms_type', sa.BigInteger(), nullable=True),
        sa.Column('mms_message_id', KeptText(), nullable=True),
        sa.Column('mms_transaction_id', KeptText(), nullable=True),
        sa.Column('content_type', KeptText(), nullable=True),
        sa.Column('addresses', sa.Text(), nullable=False),
        sa.Column('extras', sa.Text(), nullable=False),
        sa.Column('search_text', sa.Text(), nullable=False),
        sa.Column('imported_at', UTCDateTime(), nullable=False),
        sa.UniqueConstraint('owner_id', 'identity', name='uq_messages_owner_identity'),
    )
    op.create_index('ix_messages_thread', 'messages', ['conversation_id', 'date_ms', 'id'])
    op.create_index('ix_messages_owner_date', 'messages', ['owner_id', 'date_ms', 'id'])
    op.create_table('message_attachments',
        sa.Column('id', sa.Uuid(), primary_key=True),
        _owner(),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('sha1', sa.String(length=40), nullable=False),
        sa.Column('crc32', sa.BigInteger(), nullable=False),
        sa.Column('size_bytes', sa.BigInteger(), nullable=False),
        sa.Column('blob_key', sa.String(length=200), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.UniqueConstraint('owner_id', 'sha256', name='uq_message_attachments_owner_sha256'),
    )
    op.create_table('message_parts',
        sa.Column('id', sa.Uuid(), primary_key=True),
        sa.Column('message_id', RowId, sa.ForeignKey('messages.id', ondelete='CASCADE'), nullable=False),
        _owner(),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('content_type', KeptText(), nullable=False),
        sa.Column('name', KeptText(), nullable=True),
        sa.Column('charset', KeptText(), nullable=True),
        sa.Column('content_disposition', KeptText(), nullable=True),
        sa.Column('filename', KeptText(), nullable=True),
        sa.Column('content_id', KeptText(), nullable=True),
        sa.Column('content_location', KeptText(), nullable=True),
        sa.Column('text', KeptText(), nullable=True),
        sa.Column('extras', sa.Text(), nullable=False),
        sa.Column('attachment_id', sa.Uuid(), sa.ForeignKey('message_attachments.id'), nullable=True),
    )
    op.create_index('ix_message_parts_message', 'message_parts', ['message_id', 'position'])
    op.create_index('ix_message_parts_attachment', 'message_parts', ['attachment_id'])
    op.create_table('message_calls',
        sa.Column('id', RowId, primary_key=True, autoincrement=True),
        _owner(),
        sa.Column('import_id', sa.Uuid(), sa.ForeignKey('message_imports.id', ondelete='SET NULL'), nullable=True),
        sa.Column('identity', sa.String(length=64), nullable=False),
        sa.Column('number', KeptText(), nullable=True),
        sa.Column('date_ms', sa.BigInteger(), nullable=False),
        sa.Column('duration_s', sa.BigInteger(), nullable=False),
        sa.Column('type', sa.BigInteger(), nullable=False),
        sa.Column('presentation', sa.BigInteger(), nullable=True),
        sa.Column('subscription_id', KeptText(), nullable=True),
        sa.Column('contact_name', KeptText(), nullable=True),
        sa.Column('extras', sa.Text(), nullable=False),
        sa.Column('imported_at', UTCDateTime(), nullable=False),
        sa.UniqueConstraint('owner_id', 'identity', name='uq_message_calls_owner_identity'),
    )
    op.create_index('ix_message_calls_owner_date', 'message_calls', ['owner_id', 'date_ms', 'id'])
    op.create_table('message_own_addresses',
        sa.Column('owner_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('address', sa.String(length=200), primary_key=True),
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"ALTER TABLE messages ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({_TSVECTOR}) STORED")
        op.execute("CREATE INDEX ix_messages_search ON messages USING gin (search_vector)")
    else:
        for statement in _SQLITE_SEARCH:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        for trigger in ('messages_search_insert', 'messages_search_delete', 'messages_search_update'):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS message_search")
    for table in ('message_own_addresses', 'message_calls', 'message_parts', 'message_attachments', 'messages',
                  'message_conversations', 'message_imports'):
        op.drop_table(table)
