"""Errors a person can act on. Their messages are shown as they are (CLI, Slack, triage)."""


class ServiceError(Exception):
    """A request the core refuses; the message says what is wrong and what to do instead."""


class NotFound(ServiceError):
    pass


class Refused(ServiceError):
    """An action the case's stage or the actor's role does not allow now."""


class Invalid(ServiceError):
    """Form errors that NAME their field (issue 11: doors never match on the message text)."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(self.errors.values()))
