from api.errors import AuthenticationFailed, Conflict, InvalidValue, NotFound


class InvalidCredentials(AuthenticationFailed):
    """Also the answer for a locked account, word for word, so a guesser cannot tell a lock from a wrong guess."""

    reason = "invalid_credentials"
    default_message = (
        "The email address or password is not right. Too many wrong attempts lock an account for a while; "
        "an admin can unlock it."
    )


class AccessTokenInvalid(AuthenticationFailed):
    reason = "access_token_invalid"
    default_message = "Sign in again: the access token is missing, expired or revoked."


class MfaRequired(AuthenticationFailed):
    """The password was right; the sign-in needs its second step (the answer carries the challenge for it)."""

    reason = "mfa_required"
    default_message = (
        "Enter a code from your authenticator app to finish signing in (POST /auth/mfa/verify with the "
        "challenge_token), or set one up first if you have none (POST /auth/mfa/enrolment)."
    )


class MfaSignInRequired(AuthenticationFailed):
    reason = "mfa_sign_in_required"
    default_message = "Sign in again with your second factor: this account needs one, and this sign-in has none."


class MfaChallengeInvalid(AuthenticationFailed):
    reason = "mfa_challenge_invalid"
    default_message = "Sign in again: the sign-in's challenge is not valid or has expired."


class MfaCodeInvalid(AuthenticationFailed):
    """Also the answer when the client address is locked out of the account, as for a wrong password."""

    reason = "mfa_code_invalid"
    default_message = (
        "The code is not right (or was already used). Too many wrong attempts lock an account for a while; an "
        "admin can unlock it."
    )


class MfaAlreadyEnrolled(Conflict):
    reason = "mfa_already_enrolled"
    default_message = "An authenticator is already set up for this account; an admin can reset it if it is lost."


class MfaEnrolmentNotStarted(Conflict):
    reason = "mfa_enrolment_not_started"
    default_message = "Start setting up an authenticator first (POST .../mfa/enrolment)."


class PageSignInInvalid(AuthenticationFailed):
    reason = "page_sign_in_invalid"
    default_message = "Sign in again: the dashboard page's sign-in is missing, expired or ended."


class RefreshTokenInvalid(AuthenticationFailed):
    reason = "refresh_token_invalid"
    default_message = "Sign in again: the refresh token is not valid."


class EmailAlreadyRegistered(Conflict):
    reason = "email_already_registered"
    default_message = "A user with this email address already exists."


class WeakPassword(InvalidValue):
    reason = "weak_password"


class ProgrammeRequiredForRole(InvalidValue):
    reason = "programme_required_for_role"
    default_message = "Every user except an admin belongs to a programme."


class CaseloadOnlyForMentors(InvalidValue):
    reason = "caseload_only_for_mentors"
    default_message = "Only mentors have a maximum caseload."


class UserNotFound(NotFound):
    reason = "user_not_found"
    default_message = "No such user."


class MaxCaseloadRequired(InvalidValue):
    reason = "max_caseload_required"
    default_message = "A mentor needs a maximum caseload."
