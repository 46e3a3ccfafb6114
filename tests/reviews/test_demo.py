"""The demo PIRs: every state, factors, ~40 actions, 15 governed by measures at various DoI (8 promoted, 7 linked), one ineffective;
loaded once."""

from collections import Counter

from django.contrib.auth import get_user_model

from incidents import demo as incident_demo
from measures import demo as measure_demo
from reviews import demo, selectors
from reviews.models import Action, ContributingFactor, Review


def test_demo_loads_once_with_the_promised_shape(db):
    measure_demo.load()
    incident_demo.load()
    demo.load()
    counts = (Review.objects.count(), Action.objects.count())
    demo.load()
    assert (Review.objects.count(), Action.objects.count()) == counts
    states = Counter(Review.objects.values_list("state", flat=True))
    assert set(states) == {"draft", "in_review", "approved", "published", "waived"}
    assert Review.objects.filter(revision=2).exists()
    assert ContributingFactor.objects.values("category").distinct().count() >= 6
    assert 35 <= counts[1] <= 60
    promoted = Action.objects.filter(promoted_at__isnull=False)
    assert promoted.count() == 8
    governed = Action.objects.filter(measure__isnull=False)
    assert governed.count() == 15
    assert governed.values("measure__stage").distinct().count() == 6  # DoI 0 to 5
    assert Action.objects.filter(ineffective_incident__isnull=False).count() == 1
    leader = get_user_model().objects.get(username="leader")
    assert selectors.overdue_actions(user=leader).exists()
    completion = selectors.pir_completion(user=leader)
    assert 0 < completion.on_time_rate < 1 and completion.waived >= 1
