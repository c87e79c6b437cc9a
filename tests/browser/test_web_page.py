"""The web page in a real browser against the real server, worker, Redis and database: sign in, chat
with the bot and open an article it suggests, queue a generation and watch its text arrive, and watch
an alert on the dashboard after a replay."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect
from redis import Redis
from sqlalchemy import select

from cli.replay import replay
from cli.streams import StreamFormat, read_stream
from core import redis_keys
from core.job_text import RESET_FIELDS, piece_fields
from core.jobs import JobKind, JobSource, JobStatus
from core.settings import get_settings
from db.base import utcnow
from db.engine import session_scope
from db.models import Job, RecommendationClick
from tests.reliability.overrides import settings_env
from tests.support.surge_stream import surge_stream
from tests.support.waiting import wait_for

pytestmark = pytest.mark.usefixtures("celery_worker")


def test_only_the_api_token_opens_the_page(page: Page) -> None:
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("button", name="Chat")).to_be_hidden()

    page.get_by_label("API token").fill("not-the-token")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert").filter(has_text="not the API token")).to_be_visible()
    page.get_by_label("API token").fill("test-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Chat")).to_be_visible()
    # The session survives a reload (a cookie, not page state), and signing out ends it.
    page.reload()
    expect(page.get_by_placeholder(re.compile("Ask about"))).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.request.get("/api/jobs").status == 401


def test_a_chat_message_shows_the_reply_the_worker_stored(signed_in: Page, api: httpx.Client) -> None:
    page = signed_in
    page.get_by_placeholder(re.compile("Ask about")).fill("How do I get a refund for my order?")
    page.get_by_role("button", name="Send").click()

    reply = page.locator("li.message.bot:not(.pending)").last
    expect(reply).to_be_visible()
    job_id = reply.get_attribute("data-job")
    assert job_id
    job = api.get(f"/api/jobs/{job_id}").json()
    assert job["status"] == "done" and job["source"] == "web"
    expect(reply.locator(".bubble")).to_have_text(job["result"]["reply"])
    expect(page.locator("li.message.user .bubble")).to_have_text(["How do I get a refund for my order?"])

    reply.get_by_role("button", name="Helpful", exact=True).click()
    expect(reply.get_by_role("button", name="Helpful", exact=True)).to_have_attribute("aria-pressed", "true")
    conversation = api.get(f"/api/conversations/{job['input']['conversation_id']}").json()
    assert [m["role"] for m in conversation["messages"]] == ["user", "bot"]


def test_asking_for_a_person_shows_the_handoff(signed_in: Page) -> None:
    page = signed_in
    page.get_by_placeholder(re.compile("Ask about")).fill("I want to talk to a human agent")
    page.get_by_role("button", name="Send").click()

    expect(page.locator("li.handoff-note")).to_contain_text("Handed over to a person")
    expect(page.locator("li.message.bot .badge.handoff")).to_be_visible()


def test_a_generation_queued_on_the_page_shows_its_texts(signed_in: Page, api: httpx.Client) -> None:
    page = signed_in
    page.get_by_role("button", name="Generate").click()
    prompt = f"The weather today {uuid.uuid4().hex[:6]}"
    page.get_by_label("Prompt").fill(prompt)
    page.get_by_label("Max new tokens").fill("8")
    page.get_by_label("Sequences").fill("2")
    page.get_by_label("Seed").fill("7")
    page.get_by_role("button", name="Queue the job").click()

    item = page.locator("#jobs > li").filter(has_text=prompt)
    expect(item).to_have_attribute("data-status", "done")
    job = api.get(f"/api/jobs/{item.get_attribute('data-job')}").json()
    assert job["input"] | {"max_new_tokens": 8, "num_return_sequences": 2, "seed": 7} == job["input"]
    expect(item.locator(".text")).to_have_text(job["result"]["texts"])


def test_a_generations_text_grows_on_the_page_while_the_job_runs(signed_in: Page) -> None:
    """The test plays the worker, so that it can hold the job between pieces: the page must show each
    piece as it comes, then the stored text once the job is done."""
    job_id = _running_generation("The weather today")
    redis = Redis.from_url(get_settings().redis_url)
    stream = redis_keys.job_text_stream(job_id)
    redis.xadd(stream, RESET_FIELDS)
    redis.xadd(stream, piece_fields(0, "Sunny"))
    page = signed_in

    page.get_by_role("button", name="Generate").click()
    item = page.locator(f'#jobs > li[data-job="{job_id}"]')
    expect(item.locator(".text.streaming")).to_have_text("Sunny")
    redis.xadd(stream, piece_fields(0, " spells, then"))
    expect(item.locator(".text.streaming")).to_have_text("Sunny spells, then")
    expect(item).to_have_attribute("data-status", "running")

    with session_scope() as session:
        job = session.get_one(Job, job_id)
        job.status, job.finished_at = JobStatus.DONE, utcnow()
        job.result = {"texts": ["Sunny spells, then rain."], "prompt_tokens_dropped": 0}
    redis.publish(redis_keys.job_events_channel(job_id), "done")
    expect(item).to_have_attribute("data-status", "done")
    expect(item.locator(".text")).to_have_text(["Sunny spells, then rain."])


def _running_generation(prompt: str) -> str:
    with session_scope() as session:
        job = Job(
            kind=JobKind.GENERATE,
            status=JobStatus.RUNNING,
            source=JobSource.API,
            input={"prompt": prompt, "max_new_tokens": 16, "temperature": 0.8, "top_p": 0.95},
            started_at=utcnow(),
        )
        session.add(job)
        session.flush()
        return job.id


def test_bad_generation_controls_are_refused_with_the_reason(signed_in: Page) -> None:
    page = signed_in
    page.get_by_role("button", name="Generate").click()
    page.get_by_label("Prompt").fill("anything")
    # The browser's own checks would stop 9999 before it is sent; the server's are what count.
    page.locator("#generate-form").evaluate("form => form.noValidate = true")
    page.get_by_label("Max new tokens").fill("9999")
    page.get_by_role("button", name="Queue the job").click()

    expect(page.locator("#generate-error")).to_contain_text("max_new_tokens")


def test_the_dashboard_shows_a_replayed_alert_with_its_chart_and_acknowledges_it(
    signed_in: Page, api: httpx.Client
) -> None:
    topic = f"dash-{uuid.uuid4().hex[:6]}"
    replay(api, surge_stream(topic), speed=0, batch_size=40, model="sentiment-general", given_labels=True)
    _wait_for_alert(api, topic)
    page = signed_in

    page.get_by_role("button", name="Dashboard").click()
    alert = page.locator(f'#alerts > li[data-topic="{topic}"]')
    expect(alert).to_be_visible()
    expect(alert.locator(".evidence li")).to_have_count(5)
    expect(alert.locator(".evidence li").first).to_contain_text("awful")
    chart = alert.get_by_role("img")
    expect(chart).to_be_visible()
    assert chart.evaluate("image => image.complete && image.naturalWidth") == 800

    page.get_by_label("Topic").select_option(topic)
    expect(page.locator("#trend svg rect")).not_to_have_count(0)
    expect(page.locator("#trend .alert-mark")).to_have_count(1)
    expect(page.locator("#trend-summary")).to_contain_text("157 items")

    alert.get_by_role("button", name="Acknowledge").click()
    expect(alert.locator(".badge")).to_have_text("acknowledged")
    expect(alert.get_by_role("button", name="Acknowledge")).to_have_count(0)
    stored = api.get("/api/alerts", params={"topic": topic}).json()["items"][0]
    assert (stored["status"], stored["acknowledged_by"]) == ("acknowledged", "web page")


def _wait_for_alert(api: httpx.Client, topic: str) -> None:
    """Detection runs after the replay's batches are stored; the page is opened once it has."""
    wait_for(lambda: api.get("/api/alerts", params={"topic": topic}).json()["items"], f"an alert on {topic}")


def test_the_dashboards_topic_picker_lists_the_predicted_topics_of_a_replayed_news_stream(
    signed_in: Page, api: httpx.Client
) -> None:
    # Headlines have no topic of their own beyond their feed's; the replay asks for each one's
    # predicted topic, and every prediction is used (the tiny test model is seldom sure).
    headlines = read_stream(get_settings().data_dir / "streams" / "cnbc_headlines.csv", StreamFormat.CNBC)[
        :60
    ]
    with settings_env(topic_min_confidence=0):
        report = replay(api, headlines, speed=0, batch_size=30, model="sentiment-general", topics="predict")
    assert report.failed_jobs == 0
    listed = {t["topic"]: t for t in api.get("/api/topics").json()}
    predicted = sorted(topic for topic, t in listed.items() if t["predicted"] * 2 > t["volume"])
    assert predicted, "no topic was predicted for the replayed headlines"
    page = signed_in

    page.get_by_role("button", name="Dashboard").click()
    picker = page.get_by_label("Topic")
    for topic in predicted:
        expect(picker.locator(f'option[value="{topic}"]')).to_contain_text("predicted")
    expect(picker.locator('option[value="cnbc"]')).not_to_contain_text("predicted")
    busiest = max(predicted, key=lambda topic: listed[topic]["volume"])
    picker.select_option(busiest)
    page.get_by_label("Bucket").select_option("day")
    expect(page.locator("#trend svg rect")).not_to_have_count(0)
    expect(page.locator("#trend-summary")).to_contain_text(f"{busiest}: {listed[busiest]['volume']} items")


def test_digits_drawn_on_the_images_view_show_in_the_gallery(signed_in: Page, api: httpx.Client) -> None:
    page = signed_in
    page.get_by_role("button", name="Images").click()
    page.get_by_label("Which digit").fill("draw a six")
    page.get_by_label("How many").fill("6")
    page.get_by_label("Noise number").fill("21")
    # The gallery lists every image job, newest first: other tests' may be there already, done.
    with page.expect_response(lambda response: response.url.endswith("/api/images")) as queued:
        page.get_by_role("button", name="Queue the job").click()
    job_id = queued.value.json()["id"]

    item = page.locator(f'#gallery > li[data-job="{job_id}"]')
    expect(item).to_have_attribute("data-status", "done")
    job = api.get(f"/api/jobs/{job_id}").json()
    assert (job["kind"], job["source"], job["result"]["digit"], job["result"]["seed"]) == (
        "image",
        "web",
        6,
        21,
    )
    images = item.locator(".thumbs img")
    expect(images).to_have_count(6)
    assert [images.nth(k).get_attribute("src") for k in range(6)] == job["result"]["images"]
    # Each PNG came from the server and decoded (the page's CSP allows images from itself only).
    wait_for(
        lambda: images.evaluate_all("imgs => imgs.map(img => img.complete && img.naturalWidth)"),
        "the gallery's images to load",
        until=lambda widths: widths == [64] * 6,
    )


def test_a_prompt_that_names_no_digit_is_refused_on_the_images_view(signed_in: Page) -> None:
    page = signed_in
    page.get_by_role("button", name="Images").click()
    page.get_by_label("Which digit").fill("a cat")
    page.get_by_role("button", name="Queue the job").click()

    expect(page.locator("#images-error")).to_contain_text("prompt: Value error, the prompt names no digit")


def test_an_answer_shows_related_articles_as_links_and_opening_one_logs_the_click(
    signed_in: Page, api: httpx.Client
) -> None:
    page = signed_in
    page.get_by_placeholder(re.compile("Ask about")).fill("I want to cancel my order")
    page.get_by_role("button", name="Send").click()

    reply = page.locator("li.message.bot:not(.pending)").last
    links = reply.get_by_role("navigation", name="Related articles").get_by_role("link")
    expect(links).to_have_count(3)
    job = api.get(f"/api/jobs/{reply.get_attribute('data-job')}").json()
    shown = job["result"]["recommendations"]
    titles = [" ".join(item["title"].split()) for item in shown["items"]]
    expect(links).to_have_text(titles)
    # A reload shows the latest answer's suggestions again, from what was stored.
    page.reload()
    expect(links).to_have_text(titles)

    links.nth(1).click()

    article = reply.locator(".suggestions .article")
    expect(article).to_be_visible()
    expect(article.locator("strong")).to_have_text(titles[1])
    expect(links.nth(1)).to_have_class(re.compile("opened"))
    with session_scope() as session:
        clicks = session.scalars(
            select(RecommendationClick).where(RecommendationClick.impression_id == shown["impression_id"])
        ).all()
        assert [(c.entry_id, c.position, c.source.value) for c in clicks] == [
            (shown["items"][1]["entry_id"], 2, "web")
        ]
