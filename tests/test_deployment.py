"""The production deployment: Docker Compose accepts the files, and they keep what the deployment needs.

Debian's docker-compose (1.29) validates and resolves a compose file without a Docker engine, so the
checks below read what Compose itself makes of the files (anchors merged, .env applied, the CPU
override layered on), not just their YAML.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import DEVELOPMENT_API_TOKEN, Settings

REPO = Path(__file__).resolve().parent.parent
COMPOSE = "docker-compose.yml"
CPU_OVERRIDE = "docker-compose.cpu.yml"
DEPLOYMENT_FILES = (COMPOSE, CPU_OVERRIDE, "Dockerfile", ".dockerignore")
CPU_WHEELS = "https://download.pytorch.org/whl/cpu"

SERVICES = {"redis", "postgres", "migrate", "web", "slack", "worker-gpu", "worker-io", "beat", "flower"}
# The services that run queuebot code, and those that must wait for the migration.
APP_SERVICES = SERVICES - {"redis", "postgres"}
AFTER_MIGRATION = {"web", "slack", "worker-gpu", "worker-io", "beat"}
CELERY_WORKERS = {"worker-gpu", "worker-io"}


class _OnlyTheseSettings(Settings):
    """The settings from the values given alone: what Compose passes a container, without this
    process's environment or a .env file."""

    @classmethod
    def settings_customise_sources(cls, settings_cls: Any, init_settings: Any, *_: Any, **__: Any) -> tuple:
        return (init_settings,)


def _docker_compose() -> str:
    executable = shutil.which("docker-compose")
    if executable is None:
        pytest.fail(
            "docker-compose is not installed. Install Debian's package (`apt-get install -y "
            "docker-compose`; .ci/run does): it validates compose files without a Docker engine."
        )
    return executable


def _project(folder: Path, env_text: str) -> Path:
    """A copy of the deployment files with `env_text` as .env, so neither the developer's own .env
    nor this process's QUEUEBOT_* variables (set by conftest) reach Compose."""
    for name in DEPLOYMENT_FILES:
        shutil.copy(REPO / name, folder / name)
    (folder / ".env").write_text(env_text)
    return folder


def _compose(project: Path, *files: str, args: tuple[str, ...] = ("config",)) -> subprocess.CompletedProcess:
    command = [_docker_compose()]
    for name in files:
        command += ["-f", name]
    return subprocess.run(
        [*command, *args],
        cwd=project,
        env={"PATH": os.environ["PATH"], "HOME": str(project)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _resolved(project: Path, *files: str) -> dict[str, Any]:
    result = _compose(project, *files)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["services"]


DEPLOYMENT_TOKEN = "a-secret-of-this-deployment"


def _env_example(api_token: str) -> str:
    return "".join(
        f"QUEUEBOT_API_TOKEN={api_token}\n" if line.startswith("QUEUEBOT_API_TOKEN=") else line
        for line in (REPO / ".env.example").read_text().splitlines(keepends=True)
    )


@pytest.fixture(scope="module")
def first_start(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files as on a first start: .env copied from .env.example, its API token set as the
    compose file's first lines ask."""
    return _project(tmp_path_factory.mktemp("compose"), _env_example(DEPLOYMENT_TOKEN))


def _app_settings(service: dict[str, Any]) -> Settings:
    return _OnlyTheseSettings(
        **{
            key.removeprefix("QUEUEBOT_").lower(): value
            for key, value in service["environment"].items()
            if key.startswith("QUEUEBOT_")
        }
    )


@pytest.fixture(scope="module")
def services(first_start: Path) -> dict[str, Any]:
    return _resolved(first_start, COMPOSE)


@pytest.fixture(scope="module")
def cpu_services(first_start: Path) -> dict[str, Any]:
    return _resolved(first_start, COMPOSE, CPU_OVERRIDE)


def _command(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return command if isinstance(command, str) else " ".join(command)


def _healthcheck(service: dict[str, Any]) -> str:
    return " ".join(service["healthcheck"]["test"])


def _option(command: str, name: str) -> str:
    match = re.search(rf"{name}[ =](\S+)", command)
    assert match, f"{name} missing from {command!r}"
    return match.group(1)


@pytest.mark.parametrize("files", [(COMPOSE,), (COMPOSE, CPU_OVERRIDE)], ids=["gpu", "cpu"])
def test_docker_compose_accepts_the_files(first_start: Path, files: tuple[str, ...]) -> None:
    result = _compose(first_start, *files, args=("config", "-q"))

    assert result.returncode == 0, result.stderr


def test_the_published_development_token_stops_the_public_web_server(tmp_path: Path) -> None:
    verbatim = _resolved(_project(tmp_path, _env_example(DEVELOPMENT_API_TOKEN)), COMPOSE)

    # The web server binds 0.0.0.0 in the deployment: anyone who read .env.example could sign in.
    with pytest.raises(ValueError, match="published development token"):
        _app_settings(verbatim["web"])
    assert _app_settings(verbatim["worker-io"]).web_host == "127.0.0.1"  # workers serve no API


def test_compose_refuses_to_start_without_an_api_token(tmp_path: Path) -> None:
    env_text = "".join(
        line
        for line in (REPO / ".env.example").read_text().splitlines(keepends=True)
        if not line.startswith("QUEUEBOT_API_TOKEN=")
    )
    result = _compose(_project(tmp_path, env_text), COMPOSE, args=("config", "-q"))

    assert result.returncode != 0
    assert "QUEUEBOT_API_TOKEN" in result.stderr


def test_the_deployment_has_every_service(services: dict[str, Any]) -> None:
    assert set(services) == SERVICES


def test_redis_keeps_queued_jobs(services: dict[str, Any]) -> None:
    command = _command(services["redis"])

    assert "--appendonly yes" in command
    assert "--maxmemory-policy noeviction" in command
    # The policy applies only under a memory limit.
    assert re.search(r"--maxmemory \d+[kmg]b\b", command)
    assert any(volume.split(":")[1] == "/data" for volume in services["redis"]["volumes"])


def test_every_long_running_service_restarts_and_has_a_healthcheck(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if name == "migrate":
            continue
        assert service.get("restart") == "unless-stopped", name
        assert service.get("healthcheck", {}).get("test"), name


def test_migrations_run_once_before_anything_uses_the_database(services: dict[str, Any]) -> None:
    migrate = services["migrate"]
    assert _command(migrate) == "queuebot migrate"
    # A one-shot: restarting it after it exits 0 would run it forever.
    assert migrate["restart"] == "no"
    after_migration = {"condition": "service_completed_successfully"}
    for name in AFTER_MIGRATION:
        assert services[name]["depends_on"]["migrate"] == after_migration, name
    for name in SERVICES - {"migrate"}:
        assert "queuebot migrate" not in _command(services[name]), name


def test_app_services_read_the_env_file_and_compose_addresses_win(services: dict[str, Any]) -> None:
    raw = yaml.safe_load((REPO / COMPOSE).read_text())["services"]
    for name in APP_SERVICES:
        assert raw[name]["env_file"] == ".env", name
        environment = services[name]["environment"]
        # .env.example's local addresses are overridden inside the deployment.
        assert environment["QUEUEBOT_REDIS_URL"] == "redis://redis:6379/0", name
        assert environment["QUEUEBOT_DATABASE_URL"].startswith("postgresql+psycopg://queuebot:"), name
        assert environment["QUEUEBOT_DATABASE_URL"].endswith("@postgres:5432/queuebot"), name


def test_every_service_runs_with_valid_settings_and_one_visibility_timeout(services: dict[str, Any]) -> None:
    timeouts = set()
    for name in APP_SERVICES:
        timeouts.add(_app_settings(services[name]).broker_visibility_timeout_s)
    # Each worker's restore sweep re-delivers every worker's jobs after its own timeout.
    assert len(timeouts) == 1
    # Room for long GPU jobs, well beyond the development default.
    assert timeouts.pop() >= 3600


def test_the_gpu_worker_serves_the_model_queues_in_one_process_per_gpu(services: dict[str, Any]) -> None:
    worker = services["worker-gpu"]
    command = _command(worker)

    assert _option(command, "-Q").split(",") == ["interactive", "batch"]
    assert _option(command, "--pool") == "threads"
    assert _option(command, "--prefetch-multiplier") == "1"
    assert worker["environment"]["QUEUEBOT_DEVICE"] == "cuda"
    (device,) = worker["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia"
    assert "gpu" in device["capabilities"]
    # One GPU per worker process: a count of 1 would put every such service on GPU 0.
    assert len(device["device_ids"]) == 1
    assert any(volume.split(":")[1] == "/models" for volume in worker["volumes"])
    assert any(volume.split(":")[1:] == ["/data", "ro"] for volume in worker["volumes"])
    assert "stop_grace_period" in worker


def test_the_io_worker_consumes_only_io_and_needs_no_gpu(services: dict[str, Any]) -> None:
    worker = services["worker-io"]

    assert _option(_command(worker), "-Q") == "io"
    assert "deploy" not in worker
    assert worker["environment"]["QUEUEBOT_WARM_UP_MODELS"] == "false"


def test_worker_healthchecks_ping_their_own_worker(services: dict[str, Any]) -> None:
    for name in CELERY_WORKERS:
        node = _option(_command(services[name]), "--hostname")
        assert node.endswith("@%h"), name
        healthcheck = _healthcheck(services[name])
        assert "inspect ping" in healthcheck, name
        # Compose writes $$ for a literal $: the shell in the container expands HOSTNAME.
        assert f"-d {node.removesuffix('%h')}$$HOSTNAME" in healthcheck, name


def test_one_beat_the_slack_bot_behind_a_profile_and_flower_on_loopback(services: dict[str, Any]) -> None:
    beat = [name for name, service in services.items() if " beat" in _command(service)]
    assert beat == ["beat"]
    assert _command(services["slack"]) == "queuebot slack"
    assert services["slack"]["profiles"] == ["slack"]
    assert "/healthz" in _healthcheck(services["web"])
    assert "flower" in _command(services["flower"])
    assert all(port.startswith("127.0.0.1:") for port in services["flower"]["ports"])
    assert "/healthcheck" in _healthcheck(services["flower"])


def test_images_are_built_from_the_dockerfiles_stages(services: dict[str, Any]) -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    stages = dict(re.findall(r"^FROM \S+ AS (\w+)\n(.*?)(?=^FROM |\Z)", dockerfile, re.M | re.S))
    installs = {
        name: " ".join(line for line in body.splitlines() if "pip install" in line)
        for name, body in stages.items()
    }

    assert {service["build"]["target"] for service in services.values() if "build" in service} <= set(stages)
    assert services["flower"]["build"]["target"] == "flower"
    # Flower only where it runs; torch only in the worker image.
    assert [name for name, pips in installs.items() if "flower" in pips] == ["flower"]
    assert [name for name, pips in installs.items() if "torch" in pips] == ["worker"]
    assert "ARG TORCH_INDEX_URL" in stages["worker"]
    for name in ("worker-gpu", "worker-io", "beat"):
        assert services[name]["build"]["target"] == "worker", name
    for name in ("migrate", "web", "slack"):
        assert services[name]["build"]["target"] == "web", name


def test_the_cpu_override_swaps_the_gpu_worker_for_an_identical_cpu_one(
    services: dict[str, Any], cpu_services: dict[str, Any]
) -> None:
    gpu, cpu = cpu_services["worker-gpu"], cpu_services["worker-cpu"]

    # Parked behind a profile nobody enables: its GPU reservation cannot be removed by an override.
    assert gpu["profiles"] == ["gpu"]
    assert "deploy" not in cpu
    assert cpu["environment"] == {**services["worker-gpu"]["environment"], "QUEUEBOT_DEVICE": "cpu"}
    assert sorted(cpu["volumes"]) == sorted(services["worker-gpu"]["volumes"])
    for key in ("command", "healthcheck", "depends_on", "restart", "stop_grace_period"):
        assert cpu[key] == services["worker-gpu"][key], key
    for name in ("worker-cpu", "worker-io", "beat"):
        assert cpu_services[name]["build"]["args"]["TORCH_INDEX_URL"] == CPU_WHEELS, name
        assert cpu_services[name]["image"] == "queuebot-worker:cpu", name
