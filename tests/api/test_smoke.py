from api.actors import Role
from tests.builders import admit_child, auth_headers, make_cohort, make_user


def test_a_coordinator_sees_places_used_against_places_funded(client, db_session):
    cohort = make_cohort(db_session, places=2)
    coordinator = make_user(db_session, Role.COORDINATOR, programme_id=cohort.programme_id)
    admit_child(db_session, cohort=cohort, by=coordinator)

    response = client.get(f"/programmes/{cohort.programme_id}/places", headers=auth_headers(db_session, coordinator))

    assert response.status_code == 200
    assert response.json == [
        {
            "cohort_id": str(cohort.id),
            "cohort_name": cohort.name,
            "cohort_kind": "one_to_one",
            "places": 2,
            "active": 1,
            "offered": 0,
            "free": 1,
            "waitlisted": 0,
        }
    ]
