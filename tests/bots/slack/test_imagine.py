"""/imagine through the real bolt app, worker and fake Slack: the request in the channel, the GAN's
PNGs uploaded into its thread with files_upload_v2 (the bytes the API serves), the placeholder
replaced by what was drawn; bad input explained, nothing started."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core.jobs import JobStatus
from db.engine import session_scope
from db.models import Job, JobImage, SlackDelivery
from tests.support.slack_deliveries import sent_delivery
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import SlackSender, command_via_fake

pytestmark = pytest.mark.usefixtures("celery_worker")


def _job_id_in(text: str) -> str:
    return text.split("`")[1]


def test_imagine_uploads_the_drawn_digits_into_the_thread_and_replaces_the_placeholder(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    response, url_name = command_via_fake(slack, fake_slack, "/imagine", "seven n=3 seed=5", channel=channel)

    assert response.status_code == 200
    assert "The images go in the thread." in response.json()["text"]
    job_id = _job_id_in(response.json()["text"])
    request, placeholder = fake_slack.wait_for("chat.postMessage", count=2, channel=channel)
    assert "asked me to draw 3 handwritten *7*" in request.params["text"]
    thread_ts = fake_slack.posted_ts(request)
    assert placeholder.params["thread_ts"] == thread_ts

    [upload] = fake_slack.wait_for("files.completeUploadExternal", thread_ts=thread_ts)
    uploaded = json.loads(upload.params["files"])
    [answer] = fake_slack.wait_for("chat.update", channel=channel, ts=fake_slack.posted_ts(placeholder))
    with session_scope() as session:
        job = session.get_one(Job, job_id)
        images = session.scalars(
            select(JobImage).where(JobImage.job_id == job_id).order_by(JobImage.index)
        ).all()
        assert job.status is JobStatus.DONE
        assert (job.input["digit"], job.input["n"], job.input["seed"]) == (7, 3, 5)
        assert [fake_slack.uploads[file["id"]] for file in uploaded] == [image.png for image in images]
        assert [image.slack_file_id for image in images] == [file["id"] for file in uploaded]
    assert answer.params["text"].startswith("3 handwritten *7*s (seed 5)")
    assert upload.at <= answer.at  # the images are in the thread before the placeholder says so
    assert fake_slack.calls_to(f"response:{url_name}") == []


def test_a_retried_delivery_uploads_no_image_twice(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    # The text's post fails once after the upload succeeded; the retry posts it and uploads nothing.
    fake_slack.fail_next("chat.update", 500, "internal_error", channel=channel)

    response = slack.command(
        "/imagine", "2 n=2 seed=1", channel=channel, user="UALICE", response_url="http://x/"
    )

    job_id = _job_id_in(response.json()["text"])
    sent_delivery(job_id)  # after its retry
    request = fake_slack.calls_to("chat.postMessage", channel=channel)[0]
    assert (
        len(fake_slack.calls_to("files.completeUploadExternal", thread_ts=fake_slack.posted_ts(request))) == 1
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a cat", "`prompt`: Value error, the prompt names no digit"),
        ("7 n=17", "`n`: Input should be less than or equal to 16"),
        ("7 n=0", "`n`: Input should be greater than or equal to 1"),
        ("7 colour=red", "Unknown option `colour`"),
        ("", "Which digit should I draw?"),
    ],
)
def test_imagine_with_bad_input_explains_and_starts_nothing(
    slack: SlackSender, fake_slack: FakeSlack, channel: str, text: str, expected: str
) -> None:
    response = slack.command("/imagine", text, channel=channel, user="UALICE", response_url="http://x/")

    assert response.status_code == 200
    assert expected in response.json()["text"]
    assert "Usage: `/imagine" in response.json()["text"]
    assert fake_slack.calls_to("chat.postMessage", channel=channel) == []
    with session_scope() as session:
        assert session.scalars(select(SlackDelivery).where(SlackDelivery.channel == channel)).all() == []
