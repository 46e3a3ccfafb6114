"""Defaults an administrator adjusts later: severity policies (DESIGN §6), update templates,
empty distribution lists and a starting set of declaration criteria (seed step 1)."""

from django.db import migrations

POLICIES = [(1, 30, 5), (2, 60, 10), (3, 240, 20), (4, 480, 30)]

CRITERIA = [
    ("500 or more users affected", "users_affected", 500),
    ("Tier 1 or 2 service affected", "service_tier", 2),
    ("Customer-facing service affected", "customer_facing", None),
    ("Revenue, production or operational impact", "revenue_impact", None),
    ("Regulatory, security or data risk", "regulatory_risk", None),
    ("Estimated downtime of 60 minutes or more", "estimated_downtime", 60),
    ("Executive visibility or reputational sensitivity", "executive_visibility", None),
]

_FOOT = "\n\nNext update: {{ next_update_due_at|default:'to be announced' }}\nMajor Incident Manager: {{ mim|default:'being assigned' }}"
TEMPLATES = [
    (
        "initial",
        "[{{ incident.reference }}] Major incident: {{ incident.title }}",
        "We are responding to a major incident affecting {{ services }}.\n\nBusiness impact: {{ business_impact }}\n"
        "Current status: the response team is investigating. Severity: SEV{{ incident.severity }}." + _FOOT,
    ),
    (
        "progress",
        "[{{ incident.reference }}] Update: {{ incident.title }}",
        "Progress on the incident affecting {{ services }}.\n\nBusiness impact: {{ business_impact }}\n"
        "Current status: {{ current_status|default:'investigation continues' }}" + _FOOT,
    ),
    (
        "workaround",
        "[{{ incident.reference }}] Workaround available: {{ incident.title }}",
        "A workaround is available for {{ services }}:\n\n{{ workaround|default:'(describe the workaround)' }}\n\n"
        "The underlying problem is still being worked on." + _FOOT,
    ),
    (
        "recovery",
        "[{{ incident.reference }}] Service restored: {{ incident.title }}",
        "{{ services }} has been restored. We are validating recovery with the business and will confirm "
        "when monitoring is stable." + _FOOT,
    ),
    (
        "executive",
        "[{{ incident.reference }}] Executive summary: {{ incident.title }}",
        "SEV{{ incident.severity }} incident on {{ services }} since {{ incident.impact_started_at|date:'j M H:i' }}.\n"
        "Business impact: {{ business_impact }}\nDecisions needed: {{ decisions_needed|default:'none at this time' }}" + _FOOT,
    ),
    (
        "closure",
        "[{{ incident.reference }}] Closed: {{ incident.title }}",
        "The incident affecting {{ services }} is resolved and recovery has been confirmed by the business. "
        "A post-incident review will follow.",
    ),
]


def forwards(apps, schema_editor):
    SeverityPolicy = apps.get_model("incidents", "SeverityPolicy")
    for severity, cadence, days in POLICIES:
        SeverityPolicy.objects.get_or_create(
            severity=severity, defaults={"update_cadence_minutes": cadence, "pir_due_business_days": days}
        )
    Criterion = apps.get_model("incidents", "DeclarationCriterion")
    if not Criterion.objects.exists():
        for name, kind, threshold in CRITERIA:
            Criterion.objects.create(name=name, kind=kind, threshold=threshold)
    Template = apps.get_model("incidents", "StatusUpdateTemplate")
    for kind, subject, body in TEMPLATES:
        Template.objects.get_or_create(kind=kind, defaults={"subject": subject, "body": body})
    DistributionList = apps.get_model("incidents", "DistributionList")
    for audience in ("users", "business", "it_leadership", "executives"):
        DistributionList.objects.get_or_create(audience=audience)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
