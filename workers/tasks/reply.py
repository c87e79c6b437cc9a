"""Celery task: a customer-service reply to one conversation message (interactive queue)."""

from core.jobs import TASK_ROUTES, JobKind
from workers.celery_app import celery_app
from workers.job_runner import run_job
from workers.replies.answer import answer_message
from workers.replies.turns import conversation_turn
from workers.retries import RETRY_WHILE_DEPENDENCY_UNAVAILABLE


@celery_app.task(name=TASK_ROUTES[JobKind.REPLY].task_name, **RETRY_WHILE_DEPENDENCY_UNAVAILABLE)
def reply(job_id: str) -> None:
    # The turn covers storing the reply too: answers are stored in the order of the questions.
    run_job(job_id, answer_message, turn=conversation_turn)
