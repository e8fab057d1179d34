"""browser accounts (issue 18)

Revision ID: 0015_accounts
Revises: 0014_scores
Create Date: 2026-12-06

``accounts``: who may log in to ``waveqda serve`` and ``waveqda site``, with a role and an argon2id password
hash. Ids are AUTOINCREMENT on SQLite, as everywhere since 0005.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_accounts"
down_revision = "0014_scores"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=6), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('owner','coder','reader')", name=op.f("ck_accounts_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("name", name=op.f("uq_accounts_name")),
        sqlite_autoincrement=True,
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("accounts")
