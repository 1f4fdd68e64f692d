"""Text that cannot be stored, and JSON nested to exhaust the parser, are refused at the edge with a 4xx naming
the field, on every operation, never a 500 from the database or the parser (api/request_input.py).

The walks over the OpenAPI document send the hostile value to every string field and parameter it declares; the
hand-written cases send it inside otherwise valid requests, as a signed-in coordinator, on both backends (it was
PostgreSQL, which refuses NUL, that answered 500).
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from api.actors import Role
from api.children.models import Child
from api.request_input import MAX_JSON_DEPTH, NUL_MESSAGE, SURROGATE_MESSAGE
from tests.builders import auth_headers, make_cohort, make_programme, make_user
from tests.contract.document import body_at, body_fields, errors_at, live_document, of_type, operations, resolve

HOSTILE = {"nul": ("Sam\x00my", NUL_MESSAGE), "surrogate": ("Sam\ud800my", SURROGATE_MESSAGE)}


@pytest.fixture(scope="module")
def document(session_app) -> dict[str, Any]:
    return live_document(session_app)


def _string_query_parameters(document: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    for method, path, operation in operations(document, fill_ids=True):
        for parameter in operation.get("parameters", []):
            schema = resolve(document, parameter.get("schema", {}))
            if parameter["in"] == "query" and (schema.get("type") == "string" or "enum" in schema):
                yield method, path, parameter["name"]


def _json_bodies(document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for method, path, operation in operations(document, fill_ids=True):
        if "application/json" in operation.get("requestBody", {}).get("content", {}):
            yield method, path


def _send(client, method: str, path: str, **kwargs: Any):
    return client.open(path, method=method.upper(), **kwargs)


def _raw_json(value: Any) -> bytes:
    # json.dumps writes a lone surrogate as the escape "\ud800", exactly as a hostile client would send it.
    return json.dumps(value).encode()


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_every_json_text_field_of_every_operation_refuses_unstorable_text_by_name(client, document, kind):
    value, message = HOSTILE[kind]
    fields = list(body_fields(document, of_type("string"), fill_ids=True))
    assert len(fields) > 40, "the walk found too few text fields: is the document's shape what it expects?"
    wrong = {}
    for method, path, at, _schema in fields:
        response = _send(client, method, path, data=_raw_json(body_at(at, value)), content_type="application/json")
        if response.status_code != 422 or errors_at(response.json.get("errors", {}), at) != [message]:
            wrong[f"{method.upper()} {path} {'.'.join(at)}"] = (response.status_code, response.json)
    assert wrong == {}


def test_every_text_query_parameter_refuses_a_nul_by_name(client, document):
    value, message = HOSTILE["nul"]
    parameters = list(_string_query_parameters(document))
    assert parameters, "the walk found no text query parameters"
    wrong = {}
    for method, path, name in parameters:
        response = _send(client, method, path, query_string={name: value})
        if response.status_code != 422 or response.json.get("errors", {}).get(name) != [message]:
            wrong[f"{method.upper()} {path} ?{name}"] = (response.status_code, response.json)
    assert wrong == {}


def test_a_query_string_spelling_a_surrogate_in_utf_8_is_read_as_a_replacement_character(client, document):
    # A URL cannot carry a lone surrogate: its UTF-8 spelling (ED A0 80) is not valid UTF-8, and is read as U+FFFD.
    wrong = {}
    for method, path, name in _string_query_parameters(document):
        response = _send(client, method, f"{path}?{name}=Sam%ED%A0%80my")
        if response.status_code >= 500:
            wrong[f"{method.upper()} {path} ?{name}"] = (response.status_code, response.json)
    assert wrong == {}


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 100_000])
def test_json_nested_too_deeply_is_a_400_on_every_operation_with_a_body(client, document, depth):
    bodies = [("post", "/auth/sign-in"), *_json_bodies(document)]
    arrays, objects = "[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth
    wrong = {}
    for method, path in bodies:
        for body in (arrays, objects):
            response = _send(client, method, path, data=body, content_type="application/json")
            if response.status_code != 400 or response.json["reason"] != "json_too_deep":
                wrong[f"{method.upper()} {path}"] = (response.status_code, response.json)
    assert wrong == {}


def test_brackets_inside_strings_do_not_count_towards_the_depth(client, db_session):
    deep_looking_text = "[{" * 200 + '\\"' + "]}" * 200
    body = f'{{"email": "{deep_looking_text}@example.org", "password": "x"}}'

    response = client.post("/auth/sign-in", data=body, content_type="application/json")

    assert response.status_code != 400
    assert response.json["reason"] != "json_too_deep"


def test_json_at_the_depth_limit_still_reaches_the_schema(client, db_session):
    nested = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH

    response = client.post("/auth/sign-in", data=nested, content_type="application/json")

    assert response.status_code == 422
    assert response.json["reason"] == "invalid_request"


@pytest.fixture()
def coordinator_headers(db_session):
    programme = make_programme(db_session)
    make_cohort(db_session, programme=programme)
    coordinator = make_user(db_session, Role.COORDINATOR, programme=programme)
    return auth_headers(db_session, coordinator)


def _child_payload(**overrides: Any) -> dict[str, Any]:
    return {
        "first_name": "Amira",
        "last_name": "Example",
        "date_of_birth": "2012-05-17",
        "district": "Medway",
        "phone_numbers": [{"number": "+447700900123", "owner": "child"}],
    } | overrides


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_child_named_with_unstorable_text_is_refused_and_nothing_is_written(
    client, db_session, coordinator_headers, kind
):
    value, message = HOSTILE[kind]
    before = db_session.scalar(select(func.count()).select_from(Child))

    response = client.post(
        "/children",
        data=_raw_json(_child_payload(first_name=value)),
        content_type="application/json",
        headers=coordinator_headers,
    )

    assert response.status_code == 422
    assert response.json["reason"] == "invalid_characters"
    assert response.json["errors"] == {"first_name": [message]}
    assert db_session.scalar(select(func.count()).select_from(Child)) == before


def test_unstorable_text_nested_in_a_list_is_named_by_its_place(client, db_session, coordinator_headers):
    payload = _child_payload(phone_numbers=[{"number": "+447700900123", "owner": "chi\x00ld"}])

    response = client.post("/children", json=payload, headers=coordinator_headers)

    assert response.status_code == 422
    assert response.json["errors"] == {"phone_numbers": {"0": {"owner": [NUL_MESSAGE]}}}


def test_an_unstorable_field_name_is_refused_without_echoing_it(client, db_session, coordinator_headers):
    response = client.post("/children", json=_child_payload() | {"bad\x00name": "x"}, headers=coordinator_headers)

    assert response.status_code == 422
    assert response.json["errors"] == {"bad\ufffdname": [NUL_MESSAGE]}


def test_a_query_parameter_with_a_nul_is_a_422(client, db_session, coordinator_headers):
    value, message = HOSTILE["nul"]

    response = client.get("/children", query_string={"status": value}, headers=coordinator_headers)

    assert response.status_code == 422
    assert response.json["errors"] == {"status": [message]}


def test_a_nul_in_a_form_field_is_a_422_naming_it(client, db_session):
    response = client.post("/dashboard/sign-in", data={"email": "a\x00@example.org", "password": "x"})

    assert response.status_code == 422
    assert response.json["errors"] == {"email": [NUL_MESSAGE]}


def test_a_nul_in_a_path_segment_is_a_422_naming_it(client, db_session):
    response = client.get("/c/abc%00def")

    assert response.status_code == 422
    assert response.json["errors"] == {"token": [NUL_MESSAGE]}


@pytest.mark.parametrize("cell", ["child_reference", "source_detail"])
def test_a_csv_import_with_a_nul_in_a_cell_is_refused_naming_the_line(client, db_session, cell):
    programme = make_programme(db_session)
    headers = auth_headers(db_session, make_user(db_session, Role.COORDINATOR, programme=programme))
    values = {"child_reference": "YP-ABCDEF", "source_detail": "Custody record"}
    values[cell] = values[cell][:3] + "\x00" + values[cell][3:]
    content = (
        "child_reference,event_type,occurred_on,source,source_detail\n"
        "YP-BCDEFG,arrest,2026-01-05,police,\n"
        f"{values['child_reference']},arrest,2026-01-06,police,{values['source_detail']}\n"
    ).encode()

    response = client.post(
        f"/programmes/{programme.id}/outcome-events/import",
        data={"file": (io.BytesIO(content), "events.csv")},
        content_type="multipart/form-data",
        headers=headers,
    )

    assert response.status_code == 422
    assert response.json["reason"] == "import_not_readable"
    assert response.json["line"] == 3


# --- integers ---------------------------------------------------------------------------------------------------


@pytest.fixture()
def every_role_headers(db_session):
    programme = make_programme(db_session)
    return [
        auth_headers(db_session, make_user(db_session, role, programme=programme))
        for role in (Role.ADMIN, Role.COORDINATOR, Role.MENTOR)
    ]


@pytest.mark.parametrize("value", [2.5, 2.589e-42, 1e300, "5", True])
def test_every_integer_in_a_json_body_refuses_what_is_not_a_whole_number(
    client, db_session, document, every_role_headers, value
):
    fields = list(body_fields(document, of_type("integer"), fill_ids=True))
    assert len(fields) > 15, "the walk found too few integer fields: is the document's shape what it expects?"
    wrong = {}
    for method, path, at, _schema in fields:
        for headers in every_role_headers:
            response = _send(client, method, path, json=body_at(at, value), headers=headers)
            if response.status_code not in (401, 403):
                break
        problems = errors_at(response.json.get("errors", {}), at)
        if response.status_code != 422 or not problems:
            wrong[f"{method.upper()} {path} {'.'.join(at)}"] = (response.status_code, response.json)
    assert wrong == {}


def test_a_whole_number_written_with_a_point_is_the_integer_it_names(client, db_session):
    programme = make_programme(db_session)
    admin = auth_headers(db_session, make_user(db_session, Role.ADMIN))
    payload = {"name": "Evenings", "places": 12.0, "max_sessions_per_week": 3, "planned_weeks": 52}

    response = client.post(f"/programmes/{programme.id}/cohorts", json=payload, headers=admin)

    assert response.status_code == 201, response.json
    assert response.json["places"] == 12


# --- documented values ------------------------------------------------------------------------------------------


def test_every_enum_value_a_request_body_documents_is_accepted_by_its_field(
    client, db_session, document, every_role_headers
):
    """The document offers only what the API takes: `moved_cohort` was offered as an end reason and refused."""
    fields = list(body_fields(document, lambda schema: "enum" in schema, fill_ids=True))
    assert len(fields) > 15, "the walk found too few enumerated fields"
    refused = {}
    for method, path, at, schema in fields:
        for value in [value for value in schema["enum"] if value is not None]:
            for headers in every_role_headers:
                response = _send(client, method, path, json=body_at(at, value), headers=headers)
                if response.status_code not in (401, 403):
                    break
            if response.status_code == 422 and errors_at(response.json.get("errors", {}), at):
                refused[f"{method.upper()} {path} {'.'.join(at)}={value}"] = errors_at(response.json["errors"], at)
    assert refused == {}


@pytest.mark.parametrize("name", ['"\\"', '"%0D"'])
def test_a_multipart_part_with_a_name_that_cannot_be_read_is_not_a_500(client, db_session, name):
    body = f"--B\r\nContent-Disposition: form-data; name={name}\r\n\r\nx\r\n--B--\r\n"

    response = client.post(
        f"/programmes/{uuid.uuid4()}/outcome-events/import",
        data=body.encode(),
        content_type="multipart/form-data; boundary=B",
    )

    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        b'{"email": "a@example.org", "password": "x", "n": ' + b"9" * 5000 + b"}",  # past Python's 4,300 digits
        b'{"email": "\xff\xfe", "password": "x"}',  # not UTF-8
        b'{"email": "a@example.org", "password": "x"',  # cut short
    ],
    ids=["integer-of-5000-digits", "not-utf-8", "cut-short"],
)
def test_a_body_that_cannot_be_read_as_json_is_a_400(client, db_session, body):
    response = client.post("/auth/sign-in", data=body, content_type="application/json")

    assert response.status_code == 400
    assert response.json["reason"] == "bad_request"


def test_an_empty_body_labelled_json_is_still_no_body(client, db_session):
    response = client.get("/healthz", data=b"", content_type="application/json")

    assert response.status_code == 200
