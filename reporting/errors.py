from config.errors import DomainError


class ReportsUnavailable(DomainError):
    """The queue is down: the run is kept and will be picked up when it is back."""

    status_code = 503
    code = "reports_unavailable"
    # Seconds for the Retry-After header: the requeue task tries the queue again every minute.
    retry_after = 60
