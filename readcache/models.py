"""The data version that keys cached reads (ADR 0014).

Every statement that writes a covered table appends one `DataChange` row (a PostgreSQL trigger, so
bulk loads, admin edits and raw SQL count too). The version is the number of such rows ever
committed, counted apart per domain: `DataChangeTotal` holds the compacted part, `DataChange` the
rest. Appending, rather than incrementing one counter row, keeps concurrent writers from queueing
on a row lock."""

from django.db import models


class DataChange(models.Model):
    id = models.BigAutoField(primary_key=True)
    domain = models.CharField(max_length=20)  # which part of the version (readcache.selectors.DOMAINS)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"change {self.pk} ({self.domain})"


class DataChangeTotal(models.Model):
    id = models.BigAutoField(primary_key=True)
    domain = models.CharField(max_length=20)
    n = models.BigIntegerField()

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.n} changes ({self.domain})"
