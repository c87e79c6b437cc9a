"""Which path answers a message, from the intent model's label and the nearest knowledge entries."""

from __future__ import annotations

from workers.knowledge.index import KnowledgeHit
from workers.replies.routing import (
    GENERATION_MIN_SCORE,
    OUT_OF_SCOPE,
    TEMPLATE_MIN_SCORE,
    ReplyPath,
    choose_route,
)


def _hit(entry_id: int, intent: str, score: float) -> KnowledgeHit:
    return KnowledgeHit(entry_id, f"question {entry_id}", f"answer {entry_id}", intent, None, score)


def test_the_nearest_answer_of_the_predicted_intent_is_the_template_even_below_other_intents() -> None:
    hits = [_hit(1, "track_order", 0.8), _hit(2, "cancel_order", 0.7), _hit(3, "cancel_order", 0.6)]

    route = choose_route("cancel_order", hits)

    assert route.path is ReplyPath.TEMPLATE
    assert route.answer == hits[1]


def test_an_answer_of_the_intent_that_is_not_close_enough_goes_to_generation() -> None:
    hits = [_hit(1, "track_order", 0.6), _hit(2, "cancel_order", TEMPLATE_MIN_SCORE - 0.01)]

    route = choose_route("cancel_order", hits)

    assert (route.path, route.answer) == (ReplyPath.GENERATION, None)
    assert "cancel_order" in route.reason


def test_out_of_scope_never_gets_a_template_but_may_get_generation_from_related_answers() -> None:
    assert choose_route(OUT_OF_SCOPE, [_hit(1, "cancel_order", 0.95)]).path is ReplyPath.GENERATION
    assert choose_route(OUT_OF_SCOPE, [_hit(1, "cancel_order", GENERATION_MIN_SCORE - 0.01)]).path is (
        ReplyPath.HANDOFF
    )


def test_asking_for_a_person_hands_over_whatever_the_knowledge_base_holds() -> None:
    route = choose_route("contact_human_agent", [_hit(1, "contact_human_agent", 0.99)])

    assert (route.path, route.reason) == (ReplyPath.HANDOFF, "asked for a person")


def test_an_empty_knowledge_base_hands_over_and_says_why() -> None:
    route = choose_route("cancel_order", [])

    assert (route.path, route.reason) == (ReplyPath.HANDOFF, "the knowledge base is empty")
