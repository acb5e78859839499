"""plans, memberships and the payments ledger; region groups; notices' audiences and email deliveries;
users' locale, name, email preference, quota override and the kinds their plans include

Regions become ISO 3166-1 country codes: a region that is not two letters ("default", "eu") becomes ZZ (not
known). Existing users have no quota override: their quota stays as it is until their plans next apply.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

from phonecloud.core.db import UTCDateTime

revision = '0010'
down_revision = '0009'  # the core's own line; the kinds' revisions branch off it in their folders
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('quota_bytes', sa.BigInteger(), nullable=False),
    sa.Column('price_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('kinds', sa.Text(), nullable=True),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('retired_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('region_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('ledger_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('plan_name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'reference', name='uq_ledger_kind_reference')
    )
    op.create_index('ix_ledger_at', 'ledger_entries', ['at'], unique=False)
    op.create_index('ix_ledger_user', 'ledger_entries', ['user_id'], unique=False)
    op.create_table('memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', UTCDateTime(), nullable=False),
    sa.Column('ends_at', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_memberships_plan', 'memberships', ['plan_id'], unique=False)
    op.create_index('ix_memberships_user', 'memberships', ['user_id', 'starts_at'], unique=False)
    op.create_table('notice_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('last_attempt_at', UTCDateTime(), nullable=True),
    sa.Column('sent_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('notice_id', 'user_id', name='uq_delivery_notice_user'),
    sa.UniqueConstraint('token')
    )
    op.create_index('ix_deliveries_state', 'notice_deliveries', ['notice_id', 'state', 'id'], unique=False)
    op.create_table('region_group_countries',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['region_groups.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'country')
    )
    op.create_index(op.f('ix_region_group_countries_country'), 'region_group_countries', ['country'], unique=False)
    op.create_table('region_group_disabled_kinds',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('disabled_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['region_groups.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'kind')
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('group_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('plan_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('kind', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('email', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('required', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=16), nullable=False, server_default='en'))
        batch_op.add_column(sa.Column('display_name', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('notice_emails', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('quota_override_bytes', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('plan_kinds', sa.Text(), nullable=True))
    op.execute("UPDATE users SET region = UPPER(region)")
    op.execute("UPDATE users SET region = 'ZZ' WHERE LENGTH(region) != 2")
    op.execute("UPDATE notices SET region = UPPER(region) WHERE region IS NOT NULL")
    op.execute("UPDATE notices SET region = 'ZZ' WHERE LENGTH(region) != 2")


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        for column in ('plan_kinds', 'quota_override_bytes', 'notice_emails', 'display_name', 'locale'):
            batch_op.drop_column(column)
    with op.batch_alter_table('notices', schema=None) as batch_op:
        for column in ('required', 'email', 'kind', 'plan_name', 'group_name', 'subject'):
            batch_op.drop_column(column)
    for table in ('notice_deliveries', 'region_group_disabled_kinds', 'region_group_countries', 'memberships',
                  'ledger_entries', 'region_groups', 'plans'):
        op.drop_table(table)
