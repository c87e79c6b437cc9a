"""A private PostgreSQL cluster for the tests: ``initdb`` into a temporary folder, ``pg_ctl`` on a free
port of the loopback, stopped when the session ends. No Docker, and nothing of the machine's own
clusters is touched.

PostgreSQL refuses to run as root, and CI runs as root: then the cluster belongs to an unprivileged
account (Debian's ``postgres``, which the ``postgresql`` package creates) and its commands run through
``runuser``. The tests connect over TCP with ``trust`` authentication, as the only user of a server
that listens on 127.0.0.1 alone.

pytest-postgresql was the alternative: it starts ``pg_ctl`` as the current user, so as root it needs
the same switch of user made around it, and the fault scenarios stop and start the running cluster,
which is a line each here.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

DATABASE = "queuebot"
USER = "queuebot"
SERVICE_ACCOUNT = "postgres"
# Durability is not what a test checks, and without fsync a 2-core machine spends its time on the tests.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    # The workers' task threads, the web app's pool and the test process each hold connections.
    "max_connections": "300",
}


def postgres_bin_dir() -> Path:
    """Where ``initdb`` and ``pg_ctl`` are: on the PATH, or in Debian's versioned folder (newest)."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (scripts/system-packages installs it)")
    return Path(found[-1]).parent


class PostgresServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.bin_dir = postgres_bin_dir()
        self.as_root = os.geteuid() == 0
        # A folder of its own: the tests' state folder is private to this user, which the server's
        # account could not enter.
        self.base_dir = Path(tempfile.mkdtemp(prefix="queuebot-postgres-"))
        if self.as_root:
            shutil.chown(self.base_dir, SERVICE_ACCOUNT, SERVICE_ACCOUNT)
        self.data_dir = self.base_dir / "data"

    @property
    def url(self) -> str:
        return self.url_of(DATABASE)

    def url_of(self, database: str) -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database on the running cluster; returns its URL."""
        self._run(self.bin_dir / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, name)
        return self.url_of(name)

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    def start(self) -> None:
        if not (self.data_dir / "PG_VERSION").exists():
            self._init_cluster()
        self._pg_ctl("start", "-l", str(self.log_file), "-o", self._server_options())
        if not self._database_exists():
            self.create_database(DATABASE)
        log.info("PostgreSQL serving %s", self.url)

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "fast")

    def running(self) -> bool:
        status = subprocess.run(
            self._as_owner([str(self.bin_dir / "pg_ctl"), "status", "-D", str(self.data_dir)]),
            capture_output=True,
        )
        return status.returncode == 0

    def remove(self) -> None:
        """Stopped or not, the cluster and its folder are gone."""
        if self.running():
            self.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def _init_cluster(self) -> None:
        self._run(self.bin_dir / "initdb", "-D", str(self.data_dir), "-U", USER, "--auth=trust",
                  "--encoding=UTF8", "--locale=C.UTF-8")  # fmt: skip

    def _server_options(self) -> str:
        # The socket goes in the cluster's own folder, which its owner may write (not /var/run/postgresql).
        settings = " ".join(f"-c {name}={value}" for name, value in SERVER_SETTINGS.items())
        return f"-p {self.port} -k {self.data_dir} {settings}"

    def _database_exists(self) -> bool:
        query = f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"
        found = self._run(
            self.bin_dir / "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, "-d", "postgres",
            "-tAc", query,
        )  # fmt: skip
        return found.strip() == "1"

    def _pg_ctl(self, action: str, *options: str) -> None:
        self._run(self.bin_dir / "pg_ctl", action, "-D", str(self.data_dir), "-w", "-t", "60", *options)

    def _run(self, program: Path, *args: str) -> str:
        done = subprocess.run(
            self._as_owner([str(program), *args]), capture_output=True, text=True, cwd=self.base_dir
        )
        if done.returncode != 0:
            server_log = self.log_file.read_text(errors="replace")[-3000:] if self.log_file.exists() else ""
            raise RuntimeError(
                f"{program.name} {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
                f"\n{server_log}"
            )
        return done.stdout

    def _as_owner(self, command: list[str]) -> list[str]:
        return ["runuser", "-u", SERVICE_ACCOUNT, "--", *command] if self.as_root else command
