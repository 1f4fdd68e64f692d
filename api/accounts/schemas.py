from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from api.actors import Role
from api.schemas import Boolean, Integer, Schema, text


class SignInSchema(Schema):
    email = fields.Email(required=True)
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))


class RefreshSchema(Schema):
    refresh_token = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=200))


class TokenPairSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True, metadata={"description": "Single use: each refresh returns a new one"})
    token_type = fields.String(required=True)
    expires_in = Integer(required=True, metadata={"description": "Seconds the access token is valid"})


class UserSchema(Schema):
    id = fields.UUID(dump_only=True)
    email = fields.Email(required=True)
    display_name = text(120)
    role = fields.Enum(Role, by_value=True, required=True)
    programme_id = fields.UUID(allow_none=True, load_default=None)
    max_caseload = Integer(
        allow_none=True,
        load_default=None,
        validate=validate.Range(min=0, max=200),
        metadata={"description": "Mentors only: how many children they can be key worker for"},
    )
    mobile_e164 = fields.String(
        data_key="mobile",
        allow_none=True,
        load_default=None,
        validate=validate.Length(max=32),
        metadata={"description": "A mentor's work mobile, for SMS reminders of their sessions (optional)"},
    )
    is_active = fields.Boolean(dump_only=True)
    locked_until = fields.AwareDateTime(
        dump_only=True,
        allow_none=True,
        metadata={
            "description": "When the latest lock-out of this account ends: too many wrong passwords in a row from "
            "one client address lock that address out (not the account's owner elsewhere) until then, unless an "
            "admin unlocks the account sooner (POST /users/{user_id}/unlock). A time in the past no longer locks."
        },
    )
    created_at = fields.AwareDateTime(dump_only=True)
    mfa_enrolled = fields.Boolean(
        dump_only=True,
        metadata={"description": "Whether an authenticator is set up: every sign-in then asks for a code from it"},
    )


class UserCreateSchema(UserSchema):
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))


class UserUpdateSchema(Schema):
    display_name = text(120, required=False)
    max_caseload = Integer(validate=validate.Range(min=0, max=200))
    is_active = Boolean(metadata={"description": "Deactivating also revokes every sign-in"})
    mobile_e164 = fields.String(data_key="mobile", allow_none=True, validate=validate.Length(max=32))


class UserListQuerySchema(Schema):
    role = fields.Enum(Role, by_value=True)


CHALLENGE_TOKEN = {
    "description": "The challenge_token from the sign-in's 401 mfa_required answer (it lasts a few minutes)"
}


class MfaChallengeSchema(Schema):
    challenge_token = fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=1000), metadata=CHALLENGE_TOKEN
    )


class TotpCodeSchema(Schema):
    code = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(min=1, max=20),
        metadata={"description": "The 6-digit code the authenticator app shows now"},
    )


class MfaChallengeCodeSchema(MfaChallengeSchema, TotpCodeSchema):
    pass


class MfaVerifySchema(MfaChallengeSchema):
    code = fields.String(
        load_only=True,
        validate=validate.Length(min=1, max=20),
        metadata={"description": "The 6-digit code the authenticator app shows now (or give recovery_code)"},
    )
    recovery_code = fields.String(
        load_only=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "One of the recovery codes shown at enrolment, instead of a code: each works once"},
    )

    @validates_schema
    def _one_of_them(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("code" in data) == ("recovery_code" in data):
            raise ValidationError("Give either code or recovery_code.", field_name="code")


class MfaEnrolmentSchema(Schema):
    secret = fields.String(
        required=True,
        metadata={"description": "The authenticator's secret (base32), to type in where a QR code cannot be read"},
    )
    provisioning_uri = fields.String(
        required=True,
        metadata={
            "description": "The otpauth:// URI: draw it as a QR code for the authenticator app to scan. Shown "
            "until the first code is confirmed; never again"
        },
    )


RECOVERY_CODES = {
    "description": "Ten single-use codes for signing in without the authenticator. Shown this once only: the "
    "user must keep them somewhere safe"
}


class RecoveryCodesSchema(Schema):
    recovery_codes = fields.List(fields.String(), required=True, metadata=RECOVERY_CODES)


class EnrolledSignInSchema(TokenPairSchema):
    recovery_codes = fields.List(fields.String(), required=True, metadata=RECOVERY_CODES)
