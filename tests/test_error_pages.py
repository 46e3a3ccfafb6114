def test_a_missing_or_invisible_object_shows_a_helpful_404_page(client, cast, tree):
    client.force_login(cast["viewer"])
    response = client.get(f"/dashboard/scopes/{tree.other_program.pk}/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "outside your scopes" in page
    assert "Back to the dashboard" in page
