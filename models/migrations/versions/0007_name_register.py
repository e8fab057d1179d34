"""name register: candidate kinds for e-mail addresses, phone numbers, postcodes and dates of birth, and
candidates proposed as spellings of other candidates

Revision ID: 0007_name_register
Revises: 0010_team
Create Date: 2026-12-06

``name_entries.category`` also takes ``email``, ``phone``, ``postcode`` and ``birthdate`` (issue 11: the scan
proposes them and each gets its own numbered replacement, "[Email 1]"). ``name_candidates.variant_key``: the
key of another candidate this one is probably a spelling of ("Sandrah" of "Sandra", "Willow" of "Willow
Ward"), so the first scan already proposes misspellings and place modifiers with the term they belong to.

SQLite cannot alter a CHECK constraint: ``name_entries`` is rebuilt from its own definition with only the
constraint's list changed (so its AUTOINCREMENT id, other constraints and indexes stay exactly as they were).
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0007_name_register"
down_revision = "0010_team"
branch_labels = None
depends_on = None

OLD = "category IN ('person','place','organisation','ward','other')"
NEW = "category IN ('person','place','organisation','ward','email','phone','postcode','birthdate','other')"


def _rebuild_sqlite(conn, table: str, old: str, new: str) -> None:
    sql = conn.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :n"), {"n": table}
    ).scalar()
    if new in sql:
        return
    if old not in sql:
        raise RuntimeError(f"cannot rebuild table {table}: unexpected definition")
    indexes = list(
        conn.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :n AND sql IS NOT NULL"),
            {"n": table},
        ).scalars()
    )
    columns = ", ".join(f'"{row[1]}"' for row in conn.execute(sa.text(f'PRAGMA table_info("{table}")')))
    temp = f"_rebuild_{table}"
    create, n = re.subn(rf'^CREATE TABLE\s+"?{table}"?\s*\(', f'CREATE TABLE "{temp}" (', sql.replace(old, new), count=1)
    if n != 1:
        raise RuntimeError(f"cannot rebuild table {table}: unexpected definition")
    conn.execute(sa.text(create))
    conn.execute(sa.text(f'INSERT INTO "{temp}" ({columns}) SELECT {columns} FROM "{table}"'))
    conn.execute(sa.text(f'DROP TABLE "{table}"'))
    conn.execute(sa.text(f'ALTER TABLE "{temp}" RENAME TO "{table}"'))
    for index_sql in indexes:
        conn.execute(sa.text(index_sql))


def _swap(old: str, new: str) -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        _rebuild_sqlite(conn, "name_entries", old, new)
    else:
        op.drop_constraint(op.f("ck_name_entries_category"), "name_entries", type_="check")
        op.create_check_constraint(op.f("ck_name_entries_category"), "name_entries", new)


def upgrade() -> None:
    _swap(OLD, NEW)
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("name_candidates")}
    if "variant_key" not in columns:  # idempotent, like the constraint: safe on a file already at this schema
        op.add_column("name_candidates", sa.Column("variant_key", sa.String(length=300), nullable=True))


def downgrade() -> None:
    op.execute(
        "UPDATE name_entries SET category = 'other' WHERE category NOT IN ('person','place','organisation','ward')"
    )
    _swap(NEW, OLD)
    with op.batch_alter_table("name_candidates") as batch:
        batch.drop_column("variant_key")
