"""/api/kb: the knowledge base of approved answers. Edits are stored here and embedded by a worker."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from bots.knowledge import DuplicateAnswer, create_entry, update_entry
from bots.not_found import found
from bots.web.deps import SessionDep
from bots.web.routers._params import Limit, Offset, RowId
from bots.web.schemas import KnowledgeIn, KnowledgeOut, KnowledgePage
from core.jobs import NoNul
from db import queries
from db.models import KnowledgeEntry

router = APIRouter(tags=["knowledge base"])
API_SOURCE = "api"


@router.get("/kb", response_model=KnowledgePage)
def list_knowledge(
    session: SessionDep,
    intent: Annotated[str | None, Query(max_length=100), NoNul] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> KnowledgePage:
    page = queries.list_knowledge(session, intent=intent, limit=limit, offset=offset)
    return KnowledgePage.of(page, KnowledgeOut.of)


@router.get("/kb/{entry_id}", response_model=KnowledgeOut)
def get_knowledge(entry_id: RowId, session: SessionDep) -> KnowledgeOut:
    return KnowledgeOut.of(_entry(session, entry_id))


@router.post("/kb", response_model=KnowledgeOut, status_code=status.HTTP_201_CREATED)
def create_knowledge(body: KnowledgeIn, session: SessionDep) -> KnowledgeOut:
    """A new approved answer; its questions become searchable once a worker has embedded them."""
    try:
        entry = create_entry(session, source=API_SOURCE, **body.model_dump())
    except DuplicateAnswer as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return KnowledgeOut.of(entry)


@router.put("/kb/{entry_id}", response_model=KnowledgeOut)
def replace_knowledge(entry_id: RowId, body: KnowledgeIn, session: SessionDep) -> KnowledgeOut:
    """Replace an entry's answer, questions and labels; it is embedded again."""
    try:
        entry = update_entry(session, _entry(session, entry_id), **body.model_dump())
    except DuplicateAnswer as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return KnowledgeOut.of(entry)


@router.delete("/kb/{entry_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_knowledge(entry_id: RowId, session: SessionDep) -> None:
    session.delete(_entry(session, entry_id))
    session.commit()


def _entry(session: SessionDep, entry_id: int) -> KnowledgeEntry:
    return found(session.get(KnowledgeEntry, entry_id), f"knowledge entry {entry_id}")
