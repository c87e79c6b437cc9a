"""Where a job's status changes are announced: one Redis pub/sub channel per job.

Workers publish after each change is committed; the web app's event stream (GET
/api/jobs/{id}/events) wakes on them and reads the job from the database, which stays the only source
of truth: a lost announcement delays an update, it never changes one.
"""


def job_channel(job_id: str) -> str:
    return f"jobs:{job_id}:events"
