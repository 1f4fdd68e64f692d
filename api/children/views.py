from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, jsonify
from flask_smorest import Blueprint

from api.actors import Role
from api.auth import CASEWORK, STAFF, current_actor, requires
from api.children import service
from api.children.schemas import (
    ChildCreateSchema,
    ChildListItemSchema,
    ChildListQuerySchema,
    ChildSchema,
    ChildUpdateSchema,
    ConsentSchema,
    NewPhoneNumberSchema,
    PhoneNumberSchema,
    WaitlistEntrySchema,
    list_items,
)
from api.enrolments.rules import EnrolmentStatus
from api.programmes.schemas import ProgrammeSchema, ProgrammeUpdateSchema
from api.web import clock, db_session, page_answer, page_window

blp = Blueprint("children", __name__, description="Children, their phone numbers and consent to contact")


@blp.route("/children", methods=["GET"])
@requires(*CASEWORK)
# An instance, made once: given the class, webargs would build a schema on every request of this busy operation.
@blp.arguments(ChildListQuerySchema(), location="query")
@blp.response(200, ChildListItemSchema(many=True))
@blp.paginate()
def list_children(args: dict[str, Any], pagination_parameters: Any) -> Any:
    """Children you may see (a mentor: their own caseload), filtered by cohort, status, district or mentor

    A mentor sees only the children they are key worker for now; coordinators their programme's children; admins
    everyone. Filter by cohort, open enrolment status (`waitlisted`, `offered`, `active`, or `not_enrolled`),
    district or key worker; a page at a time (`page`, `page_size`; `X-Pagination` gives the total). Each child comes
    with their pseudonymous reference, cohort, enrolment and key worker. Every child listed is written to the audit
    log.
    """
    status = args.get("status")
    page = service.list_children(
        db_session(),
        actor=current_actor(),
        cohort_id=args.get("cohort_id"),
        status=EnrolmentStatus(status) if status and status != "not_enrolled" else None,
        not_enrolled=status == "not_enrolled",
        district=args.get("district"),
        mentor_id=args.get("mentor_id"),
        window=page_window(pagination_parameters),
        now=clock().now(),
    )
    # Dumped as ChildListItemSchema would (list_items), by hand: a Response passes through @blp.response undumped.
    return jsonify(list_items(page_answer(pagination_parameters, page)))


@blp.route("/children", methods=["POST"])
@requires(*STAFF)
@blp.arguments(ChildCreateSchema)
@blp.response(201, ChildSchema)
def create_child(body: dict[str, Any]) -> Any:
    """Record a child (before referring them to a cohort)

    Admins and coordinators. The child gets a pseudonymous reference (such as `YP-7F3K2Q`) by which everything else
    names them. `programme_id` defaults to your own (an admin must give one; a coordinator may give only their own,
    403 otherwise). The district must be one of the programme's (422 `unknown_district`); the date of birth must
    make the child 5 to 25 years old (422 `implausible_date_of_birth`). Phone numbers, each with whose it is (child,
    parent or carer), must be valid mobile numbers (landlines are refused: an SMS to a landline is read aloud in the
    home). Recording a child enrols them nowhere: refer them next (`POST /referrals`). Audited.
    """
    return service.create_child(
        db_session(),
        actor=current_actor(),
        accept_drama_numbers=current_app.config["ACCEPT_DRAMA_NUMBERS"],
        now=clock().now(),
        **body,
    )


@blp.route("/children/<uuid:child_id>", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, ChildSchema)
def get_child(child_id: uuid.UUID) -> Any:
    """One child's record (404 if they are not in your caseload)

    The full record: reference, name, date of birth, district, school, cohort and enrolment (with the waitlist
    position while waiting), key worker, current phone numbers and the contact consent in force per channel. A
    mentor may read only the children they are key worker for now; any other child answers 404, exactly as a child
    that does not exist, so existence never leaks. Audited.
    """
    return service.get_child(db_session(), actor=current_actor(), child_id=child_id, now=clock().now())


@blp.route("/children/<uuid:child_id>", methods=["PATCH"])
@requires(*STAFF)
@blp.arguments(ChildUpdateSchema)
@blp.response(200, ChildSchema)
def update_child(body: dict[str, Any], child_id: uuid.UUID) -> Any:
    """Correct a child's details

    Admins and coordinators of the child's programme; send only what changes (name, date of birth, district,
    school). The same checks as when the child was recorded apply (district of the programme, an age from 5 to 25).
    The change reaches the mentor's phone through `GET /sync`. Audited.
    """
    return service.update_child(db_session(), actor=current_actor(), child_id=child_id, changes=body, now=clock().now())


@blp.route("/children/<uuid:child_id>/phone-numbers", methods=["POST"])
@requires(*CASEWORK)
@blp.arguments(NewPhoneNumberSchema)
@blp.response(201, PhoneNumberSchema)
def add_phone_number(body: Any, child_id: uuid.UUID) -> Any:
    """Add a mobile number (landlines are refused: SMS to a landline is read aloud in the home)

    Whose number it is (child, parent or carer) decides which consent can use it: SMS to the child reaches only the
    child's own mobile, SMS to a carer a parent's or carer's. Numbers are stored in E.164 form; a number the child
    already has answers 422 `phone_number_already_recorded`, one that is not a valid mobile 422
    `invalid_phone_number`, `malformed_phone_number` or `not_a_mobile_number`. A mentor may add numbers only for
    their own caseload. Audited.
    """
    return service.add_phone_number(
        db_session(),
        actor=current_actor(),
        child_id=child_id,
        phone=body,
        accept_drama_numbers=current_app.config["ACCEPT_DRAMA_NUMBERS"],
        now=clock().now(),
    )


@blp.route("/children/<uuid:child_id>/phone-numbers/<uuid:phone_number_id>", methods=["DELETE"])
@requires(*CASEWORK)
@blp.response(204)
def remove_phone_number(child_id: uuid.UUID, phone_number_id: uuid.UUID) -> None:
    """Stop using a number (it is kept, marked removed, for the record)

    The number is marked removed, not deleted, so the record shows what was used when; no SMS goes to it from now
    on. A number that is not the child's, or was already removed, answers 404. Answers 204. A mentor may do it only
    for their own caseload. Audited.
    """
    service.remove_phone_number(
        db_session(),
        actor=current_actor(),
        child_id=child_id,
        phone_number_id=phone_number_id,
        now=clock().now(),
    )


@blp.route("/children/<uuid:child_id>/consents", methods=["POST"])
@requires(*CASEWORK)
@blp.arguments(ConsentSchema)
@blp.response(201, ConsentSchema)
def record_consent(body: dict[str, Any], child_id: uuid.UUID) -> Any:
    """Record who agreed (or refused) to contact by a channel; the latest decision is in force

    Consent is recorded per channel (`sms_to_child`, `sms_to_carer`), with who gave or refused it (child, parent or
    carer), and the latest decision for a channel is the one in force. Granting needs a current number the channel
    can reach (422 `consent_channel_without_number`); a withdrawal is always accepted, and no SMS goes by that
    channel from then on (messages already queued are checked again before they are sent). A mentor may record
    consent only for their own caseload. Audited.
    """
    return service.record_consent(db_session(), actor=current_actor(), child_id=child_id, now=clock().now(), **body)


# The waitlist names children by reference: the operation is the enrolments', the reading this domain's.
@blp.route("/cohorts/<uuid:cohort_id>/waitlist", methods=["GET"], tags=["enrolments"])
@requires(*STAFF)
@blp.response(200, WaitlistEntrySchema(many=True))
def list_waitlist(cohort_id: uuid.UUID) -> Any:
    """Children holding an offer, then the waitlist in order (priority, then referral date)

    First the children holding an offered place (with when the offer lapses), then those waiting, in the order
    places will be offered: priority (urgent, high, normal), then referral date, then when they joined (the order
    their acceptances took the cohort's lock, the order places go in, so a position answered stays true). Each entry
    gives the child's reference and their position. Admins and coordinators of the cohort's programme (any other
    cohort answers 404); every child listed is written to the audit log.
    """
    return service.list_waitlist(db_session(), actor=current_actor(), cohort_id=cohort_id, now=clock().now())


# A programme's districts cannot drop one a child is recorded against: the use case is this domain's, the
# operation the programmes'.
@blp.route("/programmes/<uuid:programme_id>", methods=["PATCH"], tags=["programmes"])
@requires(Role.ADMIN)
@blp.arguments(ProgrammeUpdateSchema)
@blp.response(200, ProgrammeSchema)
def update_programme(body: dict[str, Any], programme_id: uuid.UUID) -> Any:
    """Rename a programme, or change its offer window or districts

    Admins only; send only what changes. A district still recorded on a child cannot be removed (409
    `district_in_use`); sessions already logged keep the activities they were logged with. Instruments must be ones
    this deployment offers (`GET /instruments`). A name another programme has answers 409 `programme_name_taken`.
    """
    return service.update_programme(
        db_session(),
        programme_id=programme_id,
        changes=body,
        now=clock().now(),
        known_instruments=current_app.extensions["reachable.instruments"],
    )
