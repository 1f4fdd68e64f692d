"""Answers and the OpenAPI document agree, where schemathesis found they did not (issue 13, finding 7).

Found by running schemathesis from outside, against a live server, with its coverage and stateful phases on, as the
coordinator and as a mentor; each test below keeps one root cause fixed whatever the fuzzer's seed explores
(tests/security/test_fuzzing.py runs those phases in the suite):

- X-Pagination carries a JSON object, but the document gave it a `schema`, which OpenAPI reads in the "simple"
  style (`total,5,page,1`): every paginated answer looked malformed to a client reading the document.
- A JSON body whose schema requires nothing was documented as required, while the server reads no body as `{}`:
  PATCH /users/{user_id} with no body was a 200, which the document said must be refused. And the one edit that
  refuses an empty body (PATCH /missing-episodes/{episode_id}) did not say so (minProperties).
- A JSON boolean took 0, 1, "yes", "off" and the like (marshmallow's Boolean): `"granted": 0` recorded a refusal
  of consent from a number, where the document allows only true or false.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
import schemathesis

from api.actors import Role
from api.idempotency.service import KEY_PATTERN
from tests.builders import auth_headers, make_child, make_programme, make_user
from tests.contract.document import body_at, body_fields, errors_at, live_document, of_type, operations, resolve


@pytest.fixture(scope="module")
def document(session_app) -> dict[str, Any]:
    return live_document(session_app)


# --- X-Pagination -------------------------------------------------------------------------------------------------


def test_every_pagination_header_is_documented_as_the_json_object_it_carries(document):
    paginated = []
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            header = resolve(document, resolve(document, response).get("headers", {}).get("X-Pagination", {}))
            if header:
                paginated.append(f"{method.upper()} {path}")
                assert "schema" not in header, f"{method.upper()} {path} {status}: a schema means `total,5,page,1`"
                assert header["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/PaginationMetadata"
                }
    assert len(paginated) >= 10, paginated


def test_a_paginated_answer_conforms_to_its_documented_headers(app, client, db_session, document):
    admin = auth_headers(db_session, make_user(db_session, Role.ADMIN))
    make_child(db_session, programme=make_programme(db_session))
    operation = schemathesis.openapi.from_dict(document)["/children"]["GET"]
    case = operation.Case(query={"page": 1, "page_size": 10})

    response = case.call(app=app, headers=admin)

    assert response.status_code == 200
    case.validate_response(response, checks=[schemathesis.checks.response_headers_conformance])
    # schemathesis leaves a header described by `content` alone: read it as the document says, JSON.
    metadata = json.loads(response.headers["x-pagination"][0])
    properties = document["components"]["schemas"]["PaginationMetadata"]["properties"]
    assert set(metadata) <= set(properties)
    assert all(isinstance(value, int) for value in metadata.values())
    assert metadata["page"] == 1


# --- bodies that ask for nothing ------------------------------------------------------------------------------------


def test_a_json_body_is_documented_as_required_only_when_it_requires_something(document):
    """The server reads a missing JSON body as {}: only a schema with required properties can refuse it."""
    wrong = []
    for method, path, operation in operations(document):
        body = operation.get("requestBody") or {}
        media = body.get("content", {}).get("application/json")
        if media is None:
            continue
        schema = resolve(document, media["schema"])
        asks_for_something = bool(schema.get("required")) or schema.get("minProperties", 0) > 0
        if schema.get("type") == "object" and bool(body.get("required")) != asks_for_something:
            wrong.append(f"{method.upper()} {path}")
    assert wrong == []


def test_every_json_body_documents_the_fields_its_view_reads(app, document):
    """The document's body for each operation is the schema its view loads: when two components shared a name,
    POST /goals/{goal_id}/change documented a sync change (type, op, id ...) and refused all of it."""
    wrong = {}
    for rule in app.url_map.iter_rules():
        apidoc = getattr(app.view_functions[rule.endpoint], "_apidoc", {})
        for argument in apidoc.get("arguments", {}).get("parameters", []):
            if argument["in"] != "json":
                continue
            schema = argument["schema"]() if isinstance(argument["schema"], type) else argument["schema"]
            reads = {field.data_key or name for name, field in schema.fields.items() if not field.dump_only}
            path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                media = document["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]
                properties = resolve(document, media["schema"]).get("properties", {})
                documented = {name for name, spec in properties.items() if not spec.get("readOnly")}
                if documented != reads:
                    wrong[f"{method} {path}"] = {"documented": sorted(documented), "read": sorted(reads)}
    assert wrong == {}


def test_an_edit_of_a_user_sent_without_a_body_changes_nothing_as_documented(client, db_session, document):
    admin = auth_headers(db_session, make_user(db_session, Role.ADMIN))
    mentor = make_user(db_session, Role.MENTOR)

    response = client.patch(f"/users/{mentor.id}", headers=admin)

    assert response.status_code == 200, response.json
    assert response.json["display_name"] == mentor.display_name
    assert document["paths"]["/users/{user_id}"]["patch"]["requestBody"].get("required", False) is False


def test_an_edit_that_must_change_something_is_documented_as_one(client, db_session, document):
    """PATCH /missing-episodes/{episode_id} refuses an empty body (and none): the document says minProperties 1
    and a required body, not an optional body any of whose fields may be left out."""
    programme = make_programme(db_session)
    headers = auth_headers(db_session, make_user(db_session, Role.COORDINATOR, programme=programme))
    child = make_child(db_session, programme=programme)
    episode = client.post(
        f"/children/{child.id}/missing-episodes",
        json={"reported_at": "2026-11-20T10:00:00Z", "returned_at": "2026-11-21T10:00:00Z", "source": "police"},
        headers=headers,
    ).json
    edit = {**headers, "If-Match": f'"{episode["version"]}"'}

    assert client.patch(f"/missing-episodes/{episode['id']}", json={}, headers=edit).status_code == 422
    assert client.patch(f"/missing-episodes/{episode['id']}", headers=edit).status_code == 422
    assert document["components"]["schemas"]["MissingEpisodeUpdate"]["minProperties"] == 1
    assert document["paths"]["/missing-episodes/{episode_id}"]["patch"]["requestBody"]["required"] is True


def test_an_edit_whose_body_requires_something_refuses_a_missing_body(client, db_session, document):
    admin = auth_headers(db_session, make_user(db_session, Role.ADMIN))
    programme = make_programme(db_session)

    response = client.post(f"/programmes/{programme.id}/cohorts", headers=admin)

    assert response.status_code == 422, response.json
    assert document["paths"]["/programmes/{programme_id}/cohorts"]["post"]["requestBody"]["required"] is True


# --- Idempotency-Key ------------------------------------------------------------------------------------------------


def test_every_idempotency_key_is_documented_with_the_pattern_the_server_holds_it_to(document):
    """A key with a space or a non-ASCII letter is refused (422 invalid_idempotency_key): the document says so."""
    declared = [
        parameter["schema"]
        for _method, _path, operation in operations(document)
        for parameter in operation.get("parameters", [])
        if parameter.get("name") == "Idempotency-Key"
    ]
    assert len(declared) >= 5
    assert all(schema["pattern"] == KEY_PATTERN.pattern for schema in declared)


def test_a_key_outside_the_documented_pattern_is_refused(client, db_session):
    programme = make_programme(db_session)
    headers = auth_headers(db_session, make_user(db_session, Role.COORDINATOR, programme=programme))
    child = make_child(db_session, programme=programme)

    response = client.post(
        f"/children/{child.id}/goals",
        json={"description": "Walk to school"},
        headers={**headers, "Idempotency-Key": "two words"},
    )

    assert response.status_code == 422, response.json
    assert response.json["reason"] == "invalid_idempotency_key"


# --- booleans -----------------------------------------------------------------------------------------------------


@pytest.fixture()
def casework(client, db_session) -> dict[str, Any]:
    """A programme with a mentor and a child who went missing: the records the boolean fields' operations edit."""
    programme = make_programme(db_session)
    coordinator = make_user(db_session, Role.COORDINATOR, programme=programme)
    headers = auth_headers(db_session, coordinator)
    child = make_child(db_session, programme=programme)
    episode = client.post(
        f"/children/{child.id}/missing-episodes",
        json={"reported_at": "2026-11-20T10:00:00Z", "returned_at": "2026-11-21T10:00:00Z", "source": "police"},
        headers=headers,
    )
    assert episode.status_code == 201, episode.json
    return {
        "ids": {
            "programme_id": str(programme.id),
            "user_id": str(make_user(db_session, Role.MENTOR, programme=programme).id),
            "child_id": str(child.id),
            "episode_id": episode.json["id"],
        },
        "callers": [headers, auth_headers(db_session, make_user(db_session, Role.ADMIN))],
    }


@pytest.mark.parametrize("value", [0, 1, "true", "yes", "off", 1.0, None])
def test_every_boolean_in_a_json_body_refuses_what_is_not_true_or_false(client, document, casework, value):
    fields = [(method, path, at) for method, path, at, _ in body_fields(document, of_type("boolean"))]
    assert len(fields) >= 5, f"the walk found too few boolean fields: {fields}"
    wrong = {}
    for method, path, at in fields:
        url = re.sub(r"\{([a-z_]+)\}", lambda match: casework["ids"].get(match[1], str(uuid.uuid4())), path)
        for headers in casework["callers"]:
            response = client.open(url, method=method.upper(), json=body_at(at, value), headers=headers)
            if response.status_code not in (401, 403):
                break
        if response.status_code != 422 or not errors_at(response.json.get("errors", {}), at):
            wrong[f"{method.upper()} {path} {'.'.join(at)}"] = (response.status_code, response.json)
    assert wrong == {}


def test_true_and_false_are_still_booleans(client, db_session):
    programme = make_programme(db_session)
    coordinator = make_user(db_session, Role.COORDINATOR, programme=programme)
    child = make_child(db_session, programme=programme)
    headers = auth_headers(db_session, coordinator)

    response = client.post(
        f"/children/{child.id}/consents",
        json={"channel": "sms_to_carer", "given_by": "carer", "granted": False},
        headers=headers,
    )

    assert response.status_code == 201, response.json
    assert response.json["granted"] is False
