"""Seed the contributing-factor taxonomy of DESIGN §7 (administrators manage it afterwards)."""

from django.db import migrations

CATEGORIES = [
    ("change", "Change", "A change or release introduced or triggered the failure."),
    ("capacity", "Capacity", "Load exceeded what the service or its dependencies could carry."),
    ("software_defect", "Software defect", "A defect in code shipped by us or a supplier."),
    ("configuration", "Configuration", "A setting, certificate, rule or parameter was wrong or expired."),
    ("vendor", "Vendor", "A supplier's service or product failed or responded slowly."),
    ("network", "Network", "Connectivity, DNS, load balancing or routing."),
    ("security", "Security", "An attack, a security control or a vulnerability response."),
    ("process", "Process", "A way of working, hand-over or runbook did not hold."),
    ("unknown", "Unknown", "The cause is not established yet."),
]


def seed(apps, schema_editor):
    FactorCategory = apps.get_model("reviews", "FactorCategory")
    for position, (code, name, description) in enumerate(CATEGORIES, start=1):
        FactorCategory.objects.get_or_create(
            code=code, defaults={"name": name, "description": description, "position": position}
        )


class Migration(migrations.Migration):
    dependencies = [("reviews", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
