"""The one-text job path, side by side between trees: 300 one-text sentiment jobs from 16 clients and
300 naive-worker tasks in a private stack (``queuebot benchmark``'s own pieces), the CPU each job cost
in every process (/proc/<pid>/stat), and the jobs' timeline from their rows. Optionally py-spy
records the web process and the worker during the one-text run (folded stacks, ``-f raw``).

Run it from the root of the tree to measure (it uses that tree's code, so a checkout of an older
commit can be measured the same way), alternating trees on a shared machine:

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python scripts/one_text_jobs_cost.py LABEL [PROFILE_DIR]

Prints one JSON line. Wall-clock figures on a shared machine move with the other load; the CPU per
job moves much less, so compare that.
"""

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

from cli.benchmark import TEXTS_FILE, _run_jobs, _system, naive_speed, start_naive_worker
from cli.embedded import EmbeddedStack, private_settings
from cli.process_cpu import CpuMeter
from cli.streams import first_texts
from core.jobs import SENTIMENT_GENERAL_MODEL
from core.settings import get_settings
from workers.model_store import ModelStore

logging.basicConfig(level=logging.WARNING)
JOBS = 300
CLIENTS = 16
PY_SPY = os.environ.get("PY_SPY", "py-spy")


def timestamp(value: object) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def main(label: str, profile_dir: str | None) -> dict[str, object]:
    settings = get_settings()
    texts = first_texts(settings.data_dir / TEXTS_FILE, JOBS)
    folder = str(ModelStore(settings.models_dir).folder(SENTIMENT_GENERAL_MODEL))
    with tempfile.TemporaryDirectory(prefix="one-text-") as scratch:
        private = private_settings(settings, Path(scratch))
        stack = EmbeddedStack(private)
        try:
            stack.start_storage()
            worker = stack.start_worker(
                "worker", pool=settings.worker_pool, concurrency=settings.worker_concurrency
            )
            web = stack.start_web()
            assert stack.redis is not None and stack.redis.process is not None
            token = private.api_token.get_secret_value()
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=stack.base_url, headers=headers, timeout=60) as client:
                _run_jobs(client, [["warm up"]] * 2, 2, private.sqlalchemy_url)
                _run_jobs(client, [[text] for text in texts[:32]], CLIENTS, private.sqlalchemy_url)
                spies = []
                for name, child in (("web", web), ("worker", worker)) if profile_dir else ():
                    args = [PY_SPY, "record", "-p", str(child.process.pid), "-r", "50", "-f", "raw",
                            "-o", f"{profile_dir}/{label}-{name}.txt", "--nonblocking"]  # fmt: skip
                    spies.append(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                time.sleep(1 if spies else 0)
                pids = {"web": web.process.pid, "worker": worker.process.pid,
                        "redis": stack.redis.process.pid, "client": os.getpid()}  # fmt: skip
                cpu = CpuMeter(pids)
                one_text = _system(client, texts, 1, CLIENTS, "one-text jobs", private.sqlalchemy_url)
                cpu_ms = {name: round(seconds * 1000 / JOBS, 1) for name, seconds in cpu.spent().items()}
                for spy in spies:
                    spy.send_signal(2)
                    spy.wait()
            # As in the benchmark: started only now.
            baseline = start_naive_worker(private)
            try:
                naive_speed(private, texts[:8], folder)  # its boot and model load out of the CPU counted
                naive_cpu = CpuMeter({"naive worker": baseline.process.pid})
                naive = naive_speed(private, texts, folder)
                cpu_ms["naive worker"] = round(naive_cpu.spent()["naive worker"] * 1000 / JOBS, 1)
            finally:
                baseline.stop()
            query = sa.text(
                "select created_at, started_at, finished_at from jobs where kind = 'sentiment' "
                "order by created_at desc limit :jobs"
            )
            with sa.create_engine(private.sqlalchemy_url).connect() as connection:
                rows = connection.execute(query, {"jobs": JOBS}).all()
        finally:
            stack.stop()
    waited = sorted((timestamp(r[1]) - timestamp(r[0])).total_seconds() * 1000 for r in rows)
    ran = sorted((timestamp(r[2]) - timestamp(r[1])).total_seconds() * 1000 for r in rows)
    return {
        "label": label,
        "one_text_jobs_per_s": round(one_text.value, 1),
        "naive_texts_per_s": round(naive, 1),
        "ratio": round(one_text.value / naive, 2),
        "cpu_ms_per_job": cpu_ms,
        "waiting_ms_p50": round(waited[len(waited) // 2]),
        "running_ms_p50": round(ran[len(ran) // 2]),
        "load": os.getloadavg()[0],
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)))  # noqa: T201
