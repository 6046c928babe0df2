"""A GIN index on contact and company properties (PostgreSQL only).

Consumer: `custom_property_exists` (token checks when a sequence is saved)
and active-list filters on `properties.x`, which would otherwise scan every
contact. SQLite has no GIN indexes; there the tables are small.
"""
from __future__ import annotations

from django.db import migrations

INDEXES = [
    ("contact_properties_gin", "contacts_app_contact"),
    ("company_properties_gin", "contacts_app_company"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (properties)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("contacts_app", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
