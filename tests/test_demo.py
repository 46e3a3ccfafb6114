from django.contrib.auth import get_user_model
from django.core.management import call_command

from measures.models import Membership, Scope


def _counts():
    return (get_user_model().objects.count(), Scope.objects.count(), Membership.objects.count())


def test_demo_is_idempotent(transactional_db, capsys):
    call_command("demo", no_serve=True)
    first = _counts()
    out = capsys.readouterr().out
    assert "controller" in out and "valuegate-demo" in out
    call_command("demo", no_serve=True)
    assert _counts() == first
    assert first[1] >= 10
