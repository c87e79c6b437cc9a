"""Saturated chat replies per second on an embedded stack of the tree on PYTHONPATH: CUSTOMERS chat at
once with no pause, TURNS messages each, every message sent as soon as the last was answered.

Compare two trees by running this in each, interleaved (A, B, A, B), with the same models:

    CHATBENCH_SCRATCH=/tmp/chat-a PYTHONPATH=/path/to/tree-a QUEUEBOT_DATA_DIR=... OMP_NUM_THREADS=1 \\
        python scripts/saturated_chat.py 16 6 tree-a

The scratch folder keeps the stack's database, so the demo knowledge base is imported (about two
minutes) only on the first run. A fourth argument names a py-spy raw profile of the worker to write.
"""

import json
import logging
import os
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cli.api_client import ApiClient
from cli.embedded import EmbeddedStack, private_settings
from cli.measure import support_questions
from core.settings import get_settings

logging.basicConfig(level=logging.INFO, format="%(message)s")
log = logging.getLogger("saturated-chat")
customers, turns, label = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
profile_to = sys.argv[4] if len(sys.argv) > 4 else None
settings = get_settings()
questions = support_questions(settings.data_dir, customers * turns, seed=1)
scratch = Path(os.environ["CHATBENCH_SCRATCH"])
scratch.mkdir(parents=True, exist_ok=True)
private = private_settings(settings, scratch)
stack = EmbeddedStack(private)
try:
    stack.start_storage()
    stack.import_demo_knowledge()
    worker = stack.start_worker("worker", pool=settings.worker_pool, concurrency=settings.worker_concurrency)
    stack.start_web()
    token = private.api_token.get_secret_value()
    with ApiClient.connect(stack.base_url, token) as client:
        for _ in range(2):  # waits for the worker's model warm-up
            job = client.submit("/api/chat", {"message": "how can I get a refund?"})
            client.wait_for_job(job["job"]["id"], poll_s=0.05, timeout_s=300)
    paths: list[str] = []

    def customer(number: int) -> None:
        body: dict = {}
        with ApiClient.connect(stack.base_url, token) as chat:
            for turn in range(turns):
                body["message"] = questions[number * turns + turn]
                accepted = chat.submit("/api/chat", body)
                body["conversation_id"] = accepted["conversation_id"]
                job = chat.wait_for_job(accepted["job"]["id"], poll_s=0.1, timeout_s=600)
                paths.append((job.get("result") or {}).get("path") or job["status"])

    spy = None
    if profile_to:
        spy = subprocess.Popen(
            ["py-spy", "record", "-f", "raw", "-r", "50", "-o", profile_to, "-p", str(worker.process.pid)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    started = time.perf_counter()
    with ThreadPoolExecutor(customers) as pool:
        list(pool.map(customer, range(customers)))
    seconds = time.perf_counter() - started
    if spy is not None:
        spy.send_signal(2)
        spy.wait(60)
    figures = {
        "label": label,
        "customers": customers,
        "turns": turns,
        "replies": len(paths),
        "seconds": round(seconds, 1),
        "replies_per_s": round(len(paths) / seconds, 2),
        "paths": dict(Counter(paths)),
    }
    log.info(json.dumps(figures))
finally:
    stack.stop()
