"""Timer trigger: poll Twilio for deliveries whose status callbacks never arrived."""

from __future__ import annotations

import logging

import azure.functions as func

from shared.app_services import app_recorder
from shared.status_sweeper import sweep

logger = logging.getLogger(__name__)


def main(timer: func.TimerRequest) -> None:
    """One sweep over the unfinished deliveries that are due (`shared.status_sweeper`)."""
    if timer.past_due:
        logger.warning("status sweep is running late (past due)")
    sweep(app_recorder())
