from tests.incidents.conftest import at


def test_walk_to_closed(walk):
    incident = walk("closed")
    assert incident.state == "closed"
    assert incident.closed_at == at(200)
    assert incident.timeline.count() >= 7
