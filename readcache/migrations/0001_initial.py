"""The data version of ADR 0014: tables, the trigger function and a trigger set on every covered table.

A table added later must get the same triggers in its own migration (`note_changes_sql(table)`);
tests/readcache/test_read_cache.py fails for a table of ours that has none and is not exempt."""

from django.db import migrations, models

# Tables whose rows show on a cached read. Exempt (see tests/readcache/test_read_cache.py): the
# pghistory event tables and the audit log (written only beside a covered table), and the stored
# figure rows of ADR 0013 (rewritten by reads; they follow covered tables).
COVERED = [
    "auth_user",
    "auth_user_groups",
    "auth_group",
    "measures_scope",
    "measures_membership",
    "measures_measure",
    "measures_milestone",
    "measures_risk",
    "measures_dependency",
    "measures_document",
    "measures_comment",
    "measures_effectline",
    "measures_effectvalue",
    "measures_planversion",
    "measures_planversionvalue",
    "measures_rebaselinerequest",
    "measures_gaterequest",
    "measures_gateapproval",
    "measures_notification",
    "incidents_service",
    "incidents_declarationcriterion",
    "incidents_severitypolicy",
    "incidents_distributionlist",
    "incidents_statusupdatetemplate",
    "incidents_incident",
    "incidents_incident_services",
    "incidents_incidentrole",
    "incidents_recoveryvalidation",
    "incidents_timelineentry",
    "incidents_statusupdate",
    "incidents_vendorescalation",
    "reviews_factorcategory",
    "reviews_review",
    "reviews_reviewapproval",
    "reviews_reviewrevision",
    "reviews_contributingfactor",
    "reviews_action",
    "reporting_reportrun",
    "reporting_reportschedule",
    "reporting_reportschedule_recipients",
    "reporting_snapshot",
]

# The part of the version a table moves (readcache.selectors.DOMAINS): incident metrics depend only
# on incidents, reviews and people, so edits to measures leave them cached.
def domain_of(table: str) -> str:
    if table.startswith("auth_"):
        return "people"
    if table.startswith(("incidents_", "reviews_")):
        return "incidents"
    return "value"


FUNCTIONS = """
CREATE FUNCTION readcache_note_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Statements that touched no row (an UPDATE matching nothing) leave the version alone.
    IF EXISTS (SELECT 1 FROM changed_rows) THEN
        INSERT INTO readcache_datachange (domain) VALUES (TG_ARGV[0]);
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION readcache_note_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO readcache_datachange (domain) VALUES (TG_ARGV[0]);
    RETURN NULL;
END $$;
"""


def note_changes_sql(table: str) -> tuple[str, str]:
    """SQL that makes every write statement on `table` move its part of the data version, and its
    reverse. PostgreSQL allows a transition table only on a single-event trigger, hence one per event."""
    forward, backward = [], []
    domain = domain_of(table)
    for event, rows in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
        name = f"readcache_{event.lower()}"
        forward.append(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {rows} TABLE AS changed_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION readcache_note_change('{domain}');"
        )
        backward.append(f"DROP TRIGGER IF EXISTS {name} ON {table};")
    forward.append(
        f"CREATE TRIGGER readcache_truncate AFTER TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION readcache_note_truncate('{domain}');"
    )
    backward.append(f"DROP TRIGGER IF EXISTS readcache_truncate ON {table};")
    return "\n".join(forward), "\n".join(backward)


def _triggers() -> list[migrations.RunSQL]:
    return [migrations.RunSQL(*note_changes_sql(table)) for table in COVERED]


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("measures", "0009_scope_figure_rows"),
        ("incidents", "0002_defaults"),
        ("reviews", "0002_factor_categories"),
        ("reporting", "0002_periodic_tasks"),
    ]

    operations = [
        migrations.CreateModel(
            name="DataChange",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("domain", models.CharField(max_length=20)),
            ],
            options={"default_permissions": ()},
        ),
        migrations.CreateModel(
            name="DataChangeTotal",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("domain", models.CharField(max_length=20)),
                ("n", models.BigIntegerField()),
            ],
            options={"default_permissions": ()},
        ),
        migrations.RunSQL(
            FUNCTIONS,
            "DROP FUNCTION IF EXISTS readcache_note_change(); DROP FUNCTION IF EXISTS readcache_note_truncate();",
        ),
        *_triggers(),
    ]
