"""name register: candidate kinds for e-mail addresses, phone numbers, postcodes and dates of birth, and
candidates proposed as spellings of other candidates

Revision ID: 0007_name_register
Revises: 0004_query_indexes
Create Date: 2026-12-06

``name_entries.category`` also takes ``email``, ``phone``, ``postcode`` and ``birthdate`` (issue 11: the scan
proposes them and each gets its own numbered replacement, "[Email 1]"). ``name_candidates.variant_key``: the
key of another candidate this one is probably a spelling of ("Sandrah" of "Sandra", "Willow" of "Willow
Ward"), so the first scan already proposes misspellings and place modifiers with the term they belong to.
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_name_register"
down_revision = "0004_query_indexes"
branch_labels = None
depends_on = None

OLD = "category IN ('person','place','organisation','ward','other')"
NEW = "category IN ('person','place','organisation','ward','email','phone','postcode','birthdate','other')"


def upgrade() -> None:
    with op.batch_alter_table("name_entries", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_name_entries_category"), type_="check")
        batch.create_check_constraint("category", NEW)
    with op.batch_alter_table("name_candidates") as batch:
        batch.add_column(sa.Column("variant_key", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("name_candidates") as batch:
        batch.drop_column("variant_key")
    op.execute("UPDATE name_entries SET category = 'other' WHERE category NOT IN ('person','place','organisation','ward')")
    with op.batch_alter_table("name_entries", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_name_entries_category"), type_="check")
        batch.create_check_constraint("category", OLD)
