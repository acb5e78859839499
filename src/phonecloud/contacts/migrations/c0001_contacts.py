"""contacts: address books and their contacts (with tombstones for sync-collection)

Revision ID: c0001
Revises: m0002
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

from phonecloud.core.db import BIG_ROW_ID, UTCDateTime

revision = 'c0001'
down_revision = 'm0002'
branch_labels = None
depends_on = None


def _owner() -> sa.Column:
    return sa.Column('owner_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='CASCADE'), nullable=False)


def upgrade() -> None:
    op.create_table('address_books',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        _owner(),
        sa.Column('slug', sa.String(length=255), nullable=False),
        sa.Column('display_name', sa.Text(), nullable=False),
        sa.Column('props', sa.Text(), nullable=False),
        sa.Column('revision', sa.BigInteger(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('modified_at', UTCDateTime(), nullable=False),
        sa.UniqueConstraint('owner_id', 'slug', name='uq_address_books_owner_slug'))
    op.create_table('contacts',
        sa.Column('id', BIG_ROW_ID, primary_key=True, autoincrement=True),
        sa.Column('book_id', sa.Integer(), sa.ForeignKey('address_books.id', ondelete='CASCADE'), nullable=False),
        _owner(),
        sa.Column('href', sa.String(length=255), nullable=False),
        sa.Column('uid', sa.Text(), nullable=False),
        sa.Column('etag', sa.String(length=80), nullable=False),
        sa.Column('vcard', sa.Text(), nullable=False),
        sa.Column('size_bytes', sa.BigInteger(), nullable=False),
        sa.Column('display_name', sa.Text(), nullable=False),
        sa.Column('search_text', sa.Text(), nullable=False),
        sa.Column('identity', sa.String(length=80), nullable=False),
        sa.Column('has_photo', sa.Boolean(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('revision', sa.BigInteger(), nullable=False),
        sa.Column('modified_at', UTCDateTime(), nullable=False),
        sa.UniqueConstraint('book_id', 'href', name='uq_contacts_book_href'))
    op.create_index('ix_contacts_book_revision', 'contacts', ['book_id', 'revision'])
    op.create_index('ix_contacts_book_identity', 'contacts', ['book_id', 'identity'])
    op.create_index('ix_contacts_book_name', 'contacts', ['book_id', 'display_name'])
    # One live contact per UID in an address book (RFC 6352's no-uid-conflict), even across processes.
    op.create_index('uq_contacts_book_live_uid', 'contacts', ['book_id', 'uid'], unique=True,
                    sqlite_where=sa.text('deleted = 0'), postgresql_where=sa.text('NOT deleted'))


def downgrade() -> None:
    op.drop_table('contacts')
    op.drop_table('address_books')
