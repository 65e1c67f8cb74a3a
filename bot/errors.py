"""Errors a person can act on. Their messages are shown as they are (CLI, Slack, triage)."""


class ServiceError(Exception):
    """A request the core refuses; the message says what is wrong and what to do instead."""


class NotFound(ServiceError):
    pass


class Refused(ServiceError):
    """An action the case's stage or the actor's role does not allow now."""
