"""Celery task: a customer-service reply to one conversation message (interactive queue)."""

from core.jobs import TASK_ROUTES, JobKind
from workers.celery_app import celery_app
from workers.job_runner import run_job
from workers.retries import RETRY_WHILE_DEPENDENCY_UNAVAILABLE
from workers.services.conversation_turns import conversation_turn
from workers.services.replies import answer_message


@celery_app.task(name=TASK_ROUTES[JobKind.REPLY].task_name, **RETRY_WHILE_DEPENDENCY_UNAVAILABLE)
def reply(job_id: str) -> None:
    # The turn covers storing the reply too: answers are stored in the order of the questions.
    run_job(job_id, answer_message, turn=conversation_turn)
