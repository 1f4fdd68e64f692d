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
