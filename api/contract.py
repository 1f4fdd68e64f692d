"""What the OpenAPI document says beyond what flask-smorest derives from the views, added in one place.

- Every operation has an `operationId`, the view function's name in camelCase (`create_session` gives
  `createSession`): generated clients name their functions after it, so it must be stable and unique, and a
  view's name is both (Flask refuses two views of one name in a blueprint; a test checks across blueprints).
  A view may still name its own with `@blp.doc(operationId=...)`.
- Every operation whose view honours an `Idempotency-Key` (the `@idempotent` decorator marks it) declares the
  header, so the document cannot forget one the code honours.
- Each enumeration is one named component with its type (`SessionKind`), referred to wherever a field takes its
  whole value set; a field that accepts only some of the values (the statuses a new session may be logged with)
  lists those inline, with the type. Generated clients then have one type per value set, not one per field.
- An optional request field says in words what the server assumes when it is left out, never as `default`:
  generators treat a field with a default as always present (`default: null` made 29 optional fields required
  in openapi-typescript's client, and `default: planned` would make a phone send a session's status).
- What an answer always holds is `required`: marshmallow writes every field of a schema it dumps (null when
  there is no value), so every property of a schema used only in answers is required, and so is every read-only
  property of a schema used both ways (OpenAPI applies a read-only property's requirement to answers alone).
  The error envelope is the exception: `errors` and a refusal's own facts come only with some refusals.
- Every status an operation can answer is declared, each with the error envelope: 401 and 403 wherever a token
  is needed, 404 wherever a path or body names a record, 409 and 422 on every write, 412 and 428 wherever
  If-Match is needed, 400 and 413 wherever a body is read, 503 everywhere (the database may be away).
- The headers answers carry are declared where they are sent: `ETag` on every answer that is one versioned
  record, `Idempotent-Replayed` on the answers of creates that take an Idempotency-Key, `Retry-After` on every
  429 and 503, and Flask-Limiter's `X-RateLimit-*` on the operations it limits.
- A sync `Change` is a union discriminated by its `type`: one variant per entity type (`ChangeToSession` ...),
  each naming the one record slot that type fills (`session: Session | null`, null when the record is gone),
  so a generated client narrows a change by its type with no hand code. The other slots still travel as null
  for phones written against the earlier document, and variants allow them.
- `info` names who to contact and the licence, and `servers` says the API is served from the service's root.
- An error's `reason` is one of a closed list, `ErrorReason`, made from the code: every domain error's reason,
  the reason each status gets when nothing more precise is said, and the reasons views give by `abort()`
  (ABORT_REASONS; a test reads the source for any it lacks).
- A header whose value is a JSON object (flask-smorest's X-Pagination) is described by `content` with the JSON
  media type, not by `schema`: under `schema`, OpenAPI reads an object header in the "simple" style
  (`total,5,page,1`), so every paginated answer broke the document (schemathesis, issue 13 finding 7).
- A JSON request body is `required` only if its schema requires something: the server reads a request without
  a body as `{}`, so a body that asks for nothing (PATCH /users/{user_id}) may be left out, and one that asks
  for something is refused when left out, by its required properties, or by `minProperties: 1` when it is an
  edit that must change something (api.schemas.EditSchema: PATCH /missing-episodes/{episode_id}).
"""

from __future__ import annotations

import enum
import json
from typing import Any

import marshmallow as ma
from apispec import BasePlugin
from apispec.ext.marshmallow import OpenAPIConverter
from flask import Flask

from api.errors import DomainError
from api.schemas import EditSchema
from api.web import REASON_FOR_STATUS, ErrorSchema

IDEMPOTENCY_KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    # api.idempotency.service.KEY_PATTERN: visible ASCII only, so a key travels in any header unchanged.
    "schema": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": r"^[\x21-\x7e]{1,100}$"},
    "description": "Retry-safe create: the same key and body replay the first answer (Idempotent-Replayed: true); "
    "a UUID made on the device is ideal",
}


def operation_id(endpoint: str) -> str:
    """`sessions.create_session` -> `createSession`."""
    first, *rest = endpoint.rsplit(".", 1)[-1].split("_")
    return first + "".join(word.capitalize() for word in rest)


class ContractPlugin(BasePlugin):
    def __init__(self, app: Flask) -> None:
        self.app = app

    def schema_helper(self, name: str, definition: dict[str, Any], **kwargs: Any) -> dict[str, Any] | None:
        """An edit that must change something (api.schemas.EditSchema) says so: `minProperties: 1`."""
        schema = kwargs.get("schema")
        schema_class = schema if isinstance(schema, type) else type(schema)
        return {"minProperties": 1} if issubclass(schema_class, EditSchema) else None

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        rule = kwargs.get("rule")
        if rule is None or not operations:
            return
        view = self.app.view_functions.get(rule.endpoint)
        for operation in operations.values():
            operation.setdefault("operationId", operation_id(rule.endpoint))
            if getattr(view, "honours_idempotency_key", False):
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == IDEMPOTENCY_KEY_PARAMETER["name"] for p in parameters):
                    parameters.append(dict(IDEMPOTENCY_KEY_PARAMETER))


def enum_as_component(
    converter: OpenAPIConverter, field: ma.fields.Field, ret: dict[str, Any], **_: Any
) -> dict[str, Any]:
    """apispec attribute function: an Enum field refers to its enumeration's named component (or lists the subset it
    accepts), with a type, instead of repeating an untyped value list inline."""
    if not isinstance(field, ma.fields.Enum):
        return {}
    members: list[enum.Enum] = list(field.enum.__members__.values())
    values = [member.value for member in members] if field.by_value else [member.name for member in members]
    ret.pop("enum", None)
    ret.pop("type", None)
    accepted = [value for member, value in zip(members, values, strict=True) if _accepted(field, member)]
    value_type = "string" if all(isinstance(value, str) for value in values) else "integer"
    if accepted != values:
        return _nullable(converter, {"type": value_type, "enum": accepted}, nullable=field.allow_none)
    name = field.enum.__name__
    existing = converter.spec.components.schemas.get(name)
    if existing is not None and existing.get("enum") != values:
        raise RuntimeError(f"OpenAPI component {name} is taken: rename the schema or the enumeration")
    if existing is None:
        component: dict[str, Any] = {"type": value_type, "enum": values}
        summary = (field.enum.__doc__ or "").strip().split("\n\n")[0]
        if summary and summary != enum.Enum.__doc__:
            component["description"] = " ".join(summary.split())
        converter.spec.components.schema(name, component)
    reference = {"$ref": f"#/components/schemas/{name}"}
    if not field.allow_none:
        return reference
    if converter.openapi_version.major == 3 and converter.openapi_version.minor == 0:
        return {"allOf": [reference], "nullable": True}
    return {"anyOf": [reference, {"type": "null"}]}


def _accepted(field: ma.fields.Enum, member: enum.Enum) -> bool:
    """Whether the field's own OneOf validators (a subset such as the end reasons a coordinator may choose) let
    the member through. apispec lists the whole enumeration whatever the validators say."""
    for validator in field.validators:
        if isinstance(validator, ma.validate.OneOf):
            choices = {getattr(choice, "value", choice) for choice in validator.choices}
            if member.value not in choices and member not in validator.choices:
                return False
    return True


def _nullable(converter: OpenAPIConverter, schema: dict[str, Any], *, nullable: bool) -> dict[str, Any]:
    if not nullable:
        return schema
    if converter.openapi_version.major == 3 and converter.openapi_version.minor == 0:
        return {**schema, "enum": [*schema["enum"], None], "nullable": True}
    return {**schema, "type": [schema["type"], "null"], "enum": [*schema["enum"], None]}


def default_in_words(
    _converter: OpenAPIConverter, _field: ma.fields.Field, ret: dict[str, Any], **_: Any
) -> dict[str, Any]:
    """apispec attribute function: say what the server assumes for a field left out in the description, not as a
    `default`. Generators read a default as "always present" (openapi-typescript makes the field required in
    requests), so a phone would have to send `status: planned` to plan a session; a null default says nothing."""
    if "default" not in ret:
        return {}
    default = ret.pop("default")
    if default is None:
        return {}
    said = f"Left out, it is {json.dumps(default)}."
    return {"description": f"{ret['description'].rstrip('.')}. {said}" if ret.get("description") else said}


def complete_contract(api: Any) -> None:
    """Add the field-level rules to flask-smorest's converter, and finish the document whenever it is written."""
    for attribute_function in (enum_as_component, default_in_words):
        api.ma_plugin.converter.add_attribute_function(attribute_function)
    generate = api.spec.to_dict
    api.spec.to_dict = lambda: finish_document(generate())


# Properties an answer may leave out, by component: everything else an answer-only schema has is always sent.
SOMETIMES_ABSENT = {"Error": set(ErrorSchema._declared_fields) - set(ErrorSchema.ENVELOPE)}
INFO = {
    "contact": {"name": "Reachable product team"},
    "license": {"name": "Proprietary: licensed to the service that runs it"},
}
SERVERS = [{"url": "/", "description": "This Reachable service (generated clients take the base address as a setting)"}]


# Reasons given with abort() rather than by raising a domain error.
ABORT_REASONS = (
    "if_match_required",
    "import_too_large",
    "invalid_characters",
    "invalid_webhook_signature",
    "json_too_deep",
    "stale_version",
)


def stable_reasons() -> list[str]:
    """Every `reason` an error answer can carry (domain errors are all imported once the app has its views)."""
    reasons = {*REASON_FOR_STATUS.values(), *ABORT_REASONS}
    classes: list[type[DomainError]] = [DomainError]
    while classes:
        kind = classes.pop()
        reasons.add(kind.reason)
        classes.extend(kind.__subclasses__())
    return sorted(reasons)


def finish_document(document: dict[str, Any]) -> dict[str, Any]:
    """The generated document with what only the whole of it can say: which properties answers always hold, and
    the catalogue of error reasons."""
    document.setdefault("servers", SERVERS)
    document["info"] = {**INFO, **document.get("info", {})}
    schemas = document.get("components", {}).get("schemas", {})
    if "Error" in schemas:
        schemas["ErrorReason"] = {
            "type": "string",
            "enum": stable_reasons(),
            "description": "What went wrong, stable for programs to branch on; new reasons may be added",
        }
        schemas["Error"]["properties"]["reason"] = {"$ref": "#/components/schemas/ErrorReason"}
    requests, answers = _schemas_used_in(document)
    for name in answers:
        schema = schemas[name]
        properties = schema.get("properties", {})
        if name in requests:
            always = [prop for prop, spec in properties.items() if spec.get("readOnly")]
        else:
            always = [prop for prop in properties if prop not in SOMETIMES_ABSENT.get(name, set())]
        required = list(dict.fromkeys([*schema.get("required", []), *always]))
        if required:
            schema["required"] = required
    _declare_statuses_and_headers(document)
    _discriminate(document, "Change", by="type")
    _json_headers(document)
    _bodies_required_only_when_they_require_something(document)
    return document


ERROR_RESPONSES = {
    "400": ("BadRequest", "The body is not JSON, or is nested too deeply (json_too_deep)"),
    "401": ("Unauthorized", "No valid access token: sign in again (authentication_failed)"),
    "403": ("Forbidden", "Your role may not do this (forbidden)"),
    "404": ("NotFound", "No such record, or not one you may see: both answer the same (not_found)"),
    "409": ("Conflict", "The records' current state does not allow this; `reason` says which rule"),
    "412": ("PreconditionFailed", "If-Match names a version that is no longer current (stale_version)"),
    "413": ("PayloadTooLarge", "The body is larger than this operation accepts"),
    "422": ("UnprocessableEntity", "Some fields are missing or not valid; `errors` names them"),
    "428": ("PreconditionRequired", "If-Match is required on this edit (if_match_required)"),
    "429": ("TooManyRequests", "Too many requests: wait the seconds in Retry-After (rate_limited)"),
    "503": ("ServiceUnavailable", "The database cannot be reached just now; nothing was saved (unavailable)"),
}
RETRY_AFTER = {"description": "Seconds to wait before trying again", "schema": {"type": "integer", "minimum": 1}}
ETAG = {
    "description": "The record's version, quoted: send it back in If-Match to edit the record",
    "required": True,
    "schema": {"type": "string"},
}
IDEMPOTENT_REPLAYED = {
    "description": "true when this is the stored answer to an earlier request with the same Idempotency-Key",
    "schema": {"type": "string", "enum": ["true"]},
}
RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": {"description": "Requests allowed in the current window", "schema": {"type": "integer"}},
    "X-RateLimit-Remaining": {"description": "Requests left in the current window", "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {
        "description": "When the window resets, in seconds since 1970",
        "schema": {"type": "integer"},
    },
}
WRITES = {"post", "put", "patch", "delete"}


def _declare_statuses_and_headers(document: dict[str, Any]) -> None:
    components = document.setdefault("components", {})
    for name, description in ERROR_RESPONSES.values():
        components.setdefault("responses", {})[name] = {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    for name in ("TooManyRequests", "ServiceUnavailable"):
        components["responses"][name]["headers"] = {"Retry-After": RETRY_AFTER}
    schemas = components.get("schemas", {})
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or method == "parameters":
                continue
            parameters = [p.get("name") for p in [*item.get("parameters", []), *operation.get("parameters", [])]]
            statuses = {"503"}
            if operation.get("security") != []:
                statuses |= {"401", "403"}
            if "{" in path or ("requestBody" in operation and operation.get("security") != []):
                statuses.add("404")
            if method in WRITES and operation.get("security") != []:
                statuses |= {"409", "422"}
            if "requestBody" in operation:
                statuses |= {"400", "413", "422"}
            if "If-Match" in parameters:
                statuses |= {"412", "428"}
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                if status not in responses:
                    responses[status] = {"$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"}
            limited = "429" in responses
            for status, response in responses.items():
                if "$ref" in response:
                    continue
                headers = response.setdefault("headers", {})
                if status.startswith("2") and _is_versioned_record(schemas, response):
                    headers.setdefault("ETag", ETAG)
                if status.startswith("2") and "Idempotency-Key" in parameters:
                    headers.setdefault("Idempotent-Replayed", IDEMPOTENT_REPLAYED)
                if status in ("429", "503"):
                    headers.setdefault("Retry-After", RETRY_AFTER)
                if limited:
                    for name, header in RATE_LIMIT_HEADERS.items():
                        headers.setdefault(name, header)
                if not headers:
                    del response["headers"]
    # A component no operation refers to is noise to a client generator (Spectral: oas3-unused-component); 429s,
    # for one, are declared on each limited operation with its own headers.
    referred = json.dumps(document.get("paths", {}))
    for name, _description in ERROR_RESPONSES.values():
        if f'"#/components/responses/{name}"' not in referred:
            del components["responses"][name]


def _discriminate(document: dict[str, Any], name: str, *, by: str) -> None:
    """Replace an object whose `by` property is an enumeration, and which has one nullable property named after
    each value that carries a record, with a oneOf of one variant per value and a discriminator on `by`."""
    schemas = document.get("components", {}).get("schemas", {})
    union = schemas.get(name)
    if union is None or "properties" not in union:
        return
    values = schemas[union["properties"][by]["$ref"].rsplit("/", 1)[-1]]["enum"]
    slots = {value for value in values if value in union["properties"]}
    common = {key: spec for key, spec in union["properties"].items() if key not in slots}
    mapping = {}
    for value in values:
        # ChangeToGoal, not GoalChange: that name is taken by the request to change a goal.
        variant = name + "To" + "".join(word.capitalize() for word in value.split("_"))
        if variant in schemas:
            raise RuntimeError(f"OpenAPI component {variant} is taken: the {name} union cannot name a variant so")
        own = {value: union["properties"][value]} if value in slots else {}
        properties = {**common, by: {"type": "string", "enum": [value]}, **own}
        schemas[variant] = {
            "type": "object",
            "properties": properties,
            "required": [key for key in union.get("required", []) if key in properties],
        }
        mapping[value] = f"#/components/schemas/{variant}"
    schemas[name] = {
        "oneOf": [{"$ref": reference} for reference in mapping.values()],
        "discriminator": {"propertyName": by, "mapping": mapping},
    }
    enumeration = union["properties"][by]["$ref"]
    if f'"{enumeration}"' not in json.dumps(document):
        del schemas[enumeration.rsplit("/", 1)[-1]]  # each variant names its own value now


def _is_versioned_record(schemas: dict[str, Any], response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
    return "version" in schema.get("properties", {})


def _json_headers(document: dict[str, Any]) -> None:
    """Headers whose schema is an object (or a component, which here is always an object) carry JSON text."""
    headers = list(document.get("components", {}).get("headers", {}).values())
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if isinstance(operation, dict) and method != "parameters":
                for response in operation.get("responses", {}).values():
                    headers.extend(response.get("headers", {}).values())
    for header in headers:
        schema = header.get("schema")
        if isinstance(schema, dict) and ("$ref" in schema or schema.get("type") == "object"):
            header["content"] = {"application/json": {"schema": header.pop("schema")}}


def _bodies_required_only_when_they_require_something(document: dict[str, Any]) -> None:
    schemas = document.get("components", {}).get("schemas", {})
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            body = operation.get("requestBody") if isinstance(operation, dict) and method != "parameters" else None
            media = (body or {}).get("content", {}).get("application/json")
            if body is None or media is None or len(body["content"]) != 1:
                continue
            schema = media.get("schema", {})
            if "$ref" in schema:
                schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
            if schema.get("type") == "object":
                body["required"] = bool(schema.get("required")) or schema.get("minProperties", 0) > 0


def _schemas_used_in(document: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The schema components a request can carry and those an answer can, each with everything they refer to."""
    requests: set[str] = set()
    answers: set[str] = set()
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if not isinstance(operation, dict) or method == "parameters":
                continue
            _references(
                document, [operation.get("requestBody"), operation.get("parameters"), item.get("parameters")], requests
            )
            _references(document, operation.get("responses"), answers)
    return requests, answers


def _references(document: dict[str, Any], node: Any, found: set[str]) -> None:
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str):
                kind, name = reference.rsplit("/", 2)[-2:]
                if kind == "schemas" and name in found:
                    continue
                if kind == "schemas":
                    found.add(name)
                stack.append(document["components"][kind][name])
            stack.extend(value for key, value in node.items() if key != "$ref")
