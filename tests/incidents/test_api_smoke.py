def test_schema_builds(api, people):
    assert api.as_user(people["leader"]).get("/api/schema/").status_code == 200
