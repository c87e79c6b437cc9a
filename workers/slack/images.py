"""An image job's PNGs uploaded into its Slack thread (files_upload_v2, one call for all of them).

Uploaded before the job's text is posted, and each image's file id is stored once uploaded: a
delivery retried after a failure uploads only what is missing, and a retried post uploads nothing.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from db.engine import session_scope
from db.models import JobImage
from workers.slack.client import slack_client, slack_errors

log = logging.getLogger(__name__)


def upload_job_images(job_id: str, channel: str, thread_ts: str) -> None:
    """Upload the images not uploaded yet; the caller holds the channel's slot."""
    with session_scope() as session:
        pending = [
            (image.index, image.digit, image.png)
            for image in session.scalars(
                select(JobImage)
                .where(JobImage.job_id == job_id, JobImage.slack_file_id.is_(None))
                .order_by(JobImage.index)
            )
        ]
    if not pending:
        return
    # No channel slot of its own: the delivery took one for the images and the text together (the
    # pacing is for chat.postMessage; uploads are rate-limited apart).
    with slack_errors():
        response = slack_client().files_upload_v2(
            channel=channel,
            thread_ts=thread_ts,
            file_uploads=[
                {
                    "content": png,
                    "filename": f"digit-{digit}-{job_id[:8]}-{index}.png",
                    "title": f"A handwritten {digit} ({index + 1})",
                    "alt_txt": f"A handwritten digit {digit} drawn by queuebot's GAN",
                }
                for index, digit, png in pending
            ],
        )
    # Slack answers with the files in the order they were given.
    file_ids = [str(uploaded["id"]) for uploaded in response["files"]]
    with session_scope() as session:
        for (index, _, _), file_id in zip(pending, file_ids, strict=True):
            session.execute(
                update(JobImage)
                .where(JobImage.job_id == job_id, JobImage.index == index)
                .values(slack_file_id=file_id)
            )
    log.info("job %s: %d images uploaded to its thread in %s", job_id, len(file_ids), channel)
