"""Alerts through the REST API: read one, acknowledge it, resolve it; moves that no longer apply
answer ``changed: false`` with the alert's status, and unknown alerts 404."""

from __future__ import annotations

import uuid

import httpx

from tests.support.alert_rows import add_alert


def _new_alert() -> int:
    return add_alert(f"alerts-api-{uuid.uuid4().hex[:6]}", value=0.7)


def test_an_alert_is_acknowledged_then_resolved_and_records_who_did_each(api: httpx.Client) -> None:
    alert_id = _new_alert()

    acknowledged = api.post(f"/api/alerts/{alert_id}/acknowledge", json={"by": "dana"})
    resolved = api.post(f"/api/alerts/{alert_id}/resolve")

    assert acknowledged.json() == {"alert_id": alert_id, "status": "acknowledged", "changed": True}
    assert resolved.json() == {"alert_id": alert_id, "status": "resolved", "changed": True}
    alert = api.get(f"/api/alerts/{alert_id}").json()
    assert alert["status"] == "resolved"
    assert (alert["acknowledged_by"], alert["resolved_by"]) == ("dana", "web API")
    assert alert["acknowledged_at"] <= alert["resolved_at"]
    listed = api.get("/api/alerts", params={"topic": alert["topic"], "status": "resolved"}).json()
    assert [item["id"] for item in listed["items"]] == [alert_id]


def test_an_open_alert_can_be_resolved_without_being_acknowledged(api: httpx.Client) -> None:
    alert_id = _new_alert()

    resolved = api.post(f"/api/alerts/{alert_id}/resolve", json={"by": "dana"}).json()

    assert resolved == {"alert_id": alert_id, "status": "resolved", "changed": True}
    assert api.get(f"/api/alerts/{alert_id}").json()["acknowledged_by"] is None


def test_repeated_or_backward_moves_change_nothing_and_report_the_current_status(api: httpx.Client) -> None:
    alert_id = _new_alert()
    api.post(f"/api/alerts/{alert_id}/resolve", json={"by": "first"}).raise_for_status()

    resolve_again = api.post(f"/api/alerts/{alert_id}/resolve", json={"by": "second"})
    acknowledge_late = api.post(f"/api/alerts/{alert_id}/acknowledge", json={"by": "third"})

    assert resolve_again.json() == {"alert_id": alert_id, "status": "resolved", "changed": False}
    assert acknowledge_late.json() == {"alert_id": alert_id, "status": "resolved", "changed": False}
    alert = api.get(f"/api/alerts/{alert_id}").json()
    assert (alert["resolved_by"], alert["acknowledged_by"]) == ("first", None)


def test_unknown_alerts_are_404_and_bad_bodies_422(api: httpx.Client) -> None:
    alert_id = _new_alert()

    assert api.get("/api/alerts/999999999").status_code == 404
    missing = api.post("/api/alerts/999999999/acknowledge")
    assert missing.status_code == 404 and "999999999" in missing.json()["detail"]
    assert api.post(f"/api/alerts/{alert_id}/resolve", json={"by": ""}).status_code == 422
    assert api.post(f"/api/alerts/{alert_id}/resolve", json={"who": "x"}).status_code == 422
    assert api.get(f"/api/alerts/{alert_id}").json()["status"] == "open"


def test_moving_an_alert_needs_the_token(anonymous_api: httpx.Client) -> None:
    alert_id = _new_alert()

    assert anonymous_api.post(f"/api/alerts/{alert_id}/resolve").status_code == 401
    assert anonymous_api.get(f"/api/alerts/{alert_id}").status_code == 401


def test_a_chart_that_was_never_drawn_is_404_saying_so(api: httpx.Client) -> None:
    alert_id = _new_alert()  # stored directly, as no detector run: no chart

    assert api.get(f"/api/alerts/{alert_id}").json()["chart_url"] is None
    missing_chart = api.get(f"/api/alerts/{alert_id}/chart.png")
    assert missing_chart.status_code == 404 and "has no chart" in missing_chart.json()["detail"]
    unknown = api.get("/api/alerts/999999999/chart.png")
    assert unknown.status_code == 404 and "does not exist" in unknown.json()["detail"]
