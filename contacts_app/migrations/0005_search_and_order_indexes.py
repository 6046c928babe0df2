"""Indexes for a portal of a million contacts (issue 16).

1. `contact_created_idx` (-created_at, -id): every list of contacts newest
   first reads the index's first rows instead of sorting every contact.
2. `contact_stage_upper_idx` UPPER(lifecycle_stage): active-list filters on
   the stage (they compare case-insensitively). It replaces the plain
   `contact_stage_idx`: the planner read a capped count of "lead or SQL"
   through it, past every customer first (0.5 s at a million contacts),
   where a scan that stops at the cap takes milliseconds.
3. PostgreSQL only: trigram GIN indexes (`pg_trgm`) on UPPER(first_name),
   UPPER(last_name) and UPPER(email). Consumer: the contacts search
   (`contacts_filtered(search=)`: the contacts index, `GET /contacts/?search=`,
   the enrollment picker), whose `icontains` is `UPPER(col) LIKE UPPER('%word%')`
   — a B-tree can't serve a leading wildcard, a trigram index can. SQLite
   has no trigram indexes; there the search scans, as before.
"""
from __future__ import annotations

import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models

TRIGRAM_INDEXES = [
    ("contact_first_name_trgm", "contacts_app_contact", "first_name"),
    ("contact_last_name_trgm", "contacts_app_contact", "last_name"),
    ("contact_email_trgm", "contacts_app_contact", "email"),
]


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in TRIGRAM_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def analyze(apps, schema_editor):
    # An expression index has no statistics until ANALYZE; without them the planner guesses.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ANALYZE contacts_app_contact")


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ('contacts_app', '0004_contact_import'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(model_name='contact', name='contact_stage_idx'),
        migrations.AddIndex(
            model_name='contact',
            index=models.Index(fields=['-created_at', '-id'], name='contact_created_idx'),
        ),
        migrations.AddIndex(
            model_name='contact',
            index=models.Index(django.db.models.functions.text.Upper('lifecycle_stage'), name='contact_stage_upper_idx'),
        ),
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes, elidable=False),
        migrations.RunPython(analyze, migrations.RunPython.noop, elidable=False),
    ]
