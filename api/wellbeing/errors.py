from api.errors import InvalidValue


class InvalidAnswers(InvalidValue):
    """Answers to an instrument that are incomplete, out of range or for questions it does not ask.

    `errors` maps each item key to its messages (`answers` when no single item is at fault), so the form can
    show each message next to its question.
    """

    reason = "invalid_answers"
    default_message = "Some answers are missing or not valid."
