"""Related articles under an answer, through the web API on real parts: the reply worker ranks them
and stores what it showed (the impression) with the reply, GET /api/recommendations reads them back
with their scores, and a click through the API is logged with who clicked, what and where."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from db.engine import session_scope
from db.models import KnowledgeEntry, RecommendationClick, RecommendationImpression
from tests.support.knowledge_fixtures import CANCEL_QUESTION
from tests.support.stack_fixtures import ask_and_wait

pytestmark = pytest.mark.usefixtures("celery_worker")


def test_an_answer_comes_with_three_related_articles_of_other_subjects_stored_as_shown(
    api: httpx.Client,
) -> None:
    job = ask_and_wait(api, CANCEL_QUESTION)
    result = job["result"]
    shown = result["recommendations"]

    assert result["path"] == "template"
    assert shown["ranker"] == "similarity"
    assert [item["position"] for item in shown["items"]] == [1, 2, 3]
    scores = [item["score"] for item in shown["items"]]
    assert scores == sorted(scores, reverse=True)
    with session_scope() as session:
        intents = [session.get_one(KnowledgeEntry, item["entry_id"]).intent for item in shown["items"]]
        answer_intent = session.get_one(KnowledgeEntry, result["answer_entry_id"]).intent
        impression = session.get_one(RecommendationImpression, shown["impression_id"])
        assert (impression.job_id, impression.conversation_id) == (job["id"], job["conversation_id"])
        assert impression.context == [CANCEL_QUESTION]
        assert impression.items == shown["items"]
    # Never the answer just given, nor its near copies: three different subjects.
    assert result["answer_entry_id"] not in {item["entry_id"] for item in shown["items"]}
    assert answer_intent not in intents and len(set(intents)) == 3


def test_the_api_returns_the_latest_answers_suggestions_with_their_scores(api: httpx.Client) -> None:
    first = ask_and_wait(api, CANCEL_QUESTION)
    second = ask_and_wait(api, "how can I get my money back?", first["conversation_id"])

    latest = api.get("/api/recommendations", params={"conversation_id": first["conversation_id"]})

    assert latest.status_code == 200, latest.text
    body = latest.json()
    shown = second["result"]["recommendations"]
    assert (body["impression_id"], body["job_id"], body["ranker"]) == (
        shown["impression_id"],
        second["id"],
        "similarity",
    )
    assert body["items"] == shown["items"]
    # The conversation's earlier message still counts, less than the latest one.
    with session_scope() as session:
        context = session.get_one(RecommendationImpression, shown["impression_id"]).context
    assert context == [CANCEL_QUESTION, "how can I get my money back?"]


def test_a_click_is_logged_with_who_clicked_which_article_and_where_and_returns_the_article(
    api: httpx.Client,
) -> None:
    shown = ask_and_wait(api, CANCEL_QUESTION)["result"]["recommendations"]
    second = shown["items"][1]

    clicks = [
        api.post(
            f"/api/recommendations/{shown['impression_id']}/click",
            json={"entry_id": second["entry_id"], "user": user},
        )
        for user in ("dana", "dana", "eli")
    ]

    assert [c.status_code for c in clicks] == [201, 201, 201], clicks[0].text
    body = clicks[0].json()
    assert (body["position"], body["source"], body["user_id"]) == (2, "api", "dana")
    assert body["article"]["title"] == second["title"]
    assert body["article"]["text"] and "{{" not in body["article"]["text"]
    with session_scope() as session:
        logged = session.scalars(
            select(RecommendationClick).where(RecommendationClick.impression_id == shown["impression_id"])
        ).all()
        assert [(c.entry_id, c.position, c.user_id) for c in logged] == [
            (second["entry_id"], 2, "dana"),
            (second["entry_id"], 2, "dana"),  # every click is logged
            (second["entry_id"], 2, "eli"),
        ]


def test_clicks_and_queries_that_name_nothing_shown_are_refused_with_the_reason(api: httpx.Client) -> None:
    job = ask_and_wait(api, CANCEL_QUESTION)
    shown = job["result"]["recommendations"]
    path = f"/api/recommendations/{shown['impression_id']}/click"

    not_shown = api.post(path, json={"entry_id": job["result"]["answer_entry_id"]})
    unknown_impression = api.post("/api/recommendations/no-such-impression/click", json={"entry_id": 1})
    bad_entry = api.post(path, json={"entry_id": "first"})
    no_conversation = api.get("/api/recommendations")
    unknown_conversation = api.get("/api/recommendations", params={"conversation_id": 2_000_000_000})

    assert not_shown.status_code == 422
    assert not_shown.json()["detail"][0]["loc"] == ["body", "entry_id"]
    assert "was not suggested" in not_shown.json()["detail"][0]["msg"]
    assert unknown_impression.status_code == 404
    assert bad_entry.status_code == 422 and bad_entry.json()["detail"][0]["loc"] == ["body", "entry_id"]
    assert no_conversation.status_code == 422
    assert no_conversation.json()["detail"][0]["loc"] == ["query", "conversation_id"]
    assert unknown_conversation.status_code == 404
    with session_scope() as session:
        assert not session.scalars(
            select(RecommendationClick).where(RecommendationClick.impression_id == shown["impression_id"])
        ).all()


def test_a_conversation_handed_to_a_person_gets_no_suggestions(api: httpx.Client) -> None:
    job = ask_and_wait(api, "I want to talk to a human agent")

    assert job["result"]["path"] == "handoff"
    assert "recommendations" not in job["result"]
    latest = api.get("/api/recommendations", params={"conversation_id": job["conversation_id"]}).json()
    assert (latest["impression_id"], latest["items"]) == (None, [])
