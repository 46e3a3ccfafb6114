from config.errors import DomainError


class ReportsUnavailable(DomainError):
    """The queue is down: the run is kept and will be picked up when it is back."""

    status_code = 503
    code = "reports_unavailable"
