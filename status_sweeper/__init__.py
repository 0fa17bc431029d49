"""Timer trigger: poll Twilio for deliveries whose status callbacks never arrived."""

from __future__ import annotations

import logging

import azure.functions as func
from azure.core.exceptions import ServiceRequestError

from shared.app_services import app_recorder
from shared.log_safety import masked_error
from shared.status_sweeper import sweep

logger = logging.getLogger(__name__)


def main(timer: func.TimerRequest) -> None:
    """One sweep over the unfinished deliveries that are due (`shared.status_sweeper`).

    Storage that cannot be reached ends the run with one warning; any other error fails it."""
    if timer.past_due:
        logger.warning("status sweep is running late (past due)")
    try:
        sweep(app_recorder())
    except ServiceRequestError as exc:
        # The request never reached storage (an outage, Azurite stopped): the run changed nothing,
        # the due deliveries stay in the index, and a traceback every minute would say no more.
        # Answers with an error (HttpResponseError: 403, 500) are real problems and still fail.
        logger.warning(
            "status sweep: storage unreachable: %s; the next run retries", masked_error(exc)
        )
