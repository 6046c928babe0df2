"""Sequence figures as running counts kept by triggers (sequences_app.counters), backfilled from the rows."""

import django.db.models.deletion
from django.db import migrations, models


def install(apps, schema_editor):
    from sequences_app.counters import counters_ensure

    counters_ensure(schema_editor.connection)


def uninstall(apps, schema_editor):
    from sequences_app.counters import counters_uninstall

    counters_uninstall(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ('sequences_app', '0005_enrollment_sequence_newest_idx'),
    ]

    operations = [
        migrations.CreateModel(
            name='EnrollmentEngagement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sequence_id', models.BigIntegerField()),
                ('enrollment_id', models.BigIntegerField()),
                ('kind', models.CharField(max_length=20)),
                ('step_order', models.PositiveSmallIntegerField(default=0)),
                ('events', models.IntegerField(default=0)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('sequence_id', 'enrollment_id', 'kind', 'step_order'), name='enrollment_engagement_unique')],
            },
        ),
        migrations.CreateModel(
            name='SequenceCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('step_order', models.PositiveSmallIntegerField(default=0)),
                ('name', models.CharField(max_length=40)),
                ('value', models.BigIntegerField(default=0)),
                ('sequence', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='sequences_app.sequence')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('sequence', 'step_order', 'name'), name='sequence_count_unique')],
            },
        ),
        migrations.CreateModel(
            name='SequenceTimelineCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('bucket', models.DateTimeField()),
                ('name', models.CharField(max_length=10)),
                ('value', models.BigIntegerField(default=0)),
                ('sequence', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='sequences_app.sequence')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('sequence', 'bucket', 'name'), name='sequence_timeline_unique')],
            },
        ),
        migrations.RunPython(install, uninstall, elidable=False),
    ]
