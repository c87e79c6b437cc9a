"""POST /api/chat: a customer's message in a conversation becomes a reply job."""

from fastapi import APIRouter, Response, status

from bots.gateway import submit_chat_message
from bots.web.deps import CallerDep, SessionDep
from bots.web.routers._params import IdempotencyKey
from bots.web.schemas import ChatAccepted, ChatRequest, JobOut

router = APIRouter(tags=["chat"])


@router.post("/chat", status_code=status.HTTP_202_ACCEPTED, response_model=ChatAccepted)
def post_chat(
    request: ChatRequest,
    session: SessionDep,
    caller: CallerDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ChatAccepted:
    """Send a message; the reply arrives as the result of the returned job (follow it with GET
    /api/jobs/{id}/events). Conversations started on the web page have the source ``web``."""
    job, created = submit_chat_message(
        session,
        request.message,
        caller.source,
        conversation_id=request.conversation_id,
        idempotency_key=idempotency_key,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return ChatAccepted(
        conversation_id=job.input["conversation_id"],
        message_id=job.input["message_id"],
        job=JobOut.model_validate(job),
    )
