# Three images from one file, each with only what its processes import:
#   web    the API, the Slack bot and migrations. No torch: the bots never import model code.
#   worker the Celery workers and beat: torch and the models' libraries.
#   flower the Celery monitor (the `flower` extra).
#
# CUDA worker (the default): PyPI's Linux torch wheel is a CUDA build that brings its own CUDA
# runtime as pip packages, so python:slim suffices; the host needs only the NVIDIA driver and the
# NVIDIA Container Toolkit (no nvidia/cuda base image, no CUDA toolkit in the image).
#   docker build --target worker -t queuebot-worker:cuda .
# CPU worker: the CPU wheel index (a much smaller image: no NVIDIA libraries).
#   docker build --target worker -t queuebot-worker:cpu \
#       --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu .
# Another CUDA version: --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cuXXX
FROM python:3.11-slim AS base
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN useradd --create-home queuebot
# Dependencies are installed from pyproject.toml alone (the packages are not copied yet, so this
# installs an empty project plus its dependencies); a code change then rebuilds only the last layers
# instead of downloading torch again.
COPY pyproject.toml README.md ./

FROM base AS web
RUN pip install ".[postgres]"
COPY . .
RUN pip install --no-deps .
USER queuebot

FROM base AS worker
# Pinned like the Makefile's TORCH_SPEC: an unpinned torch would float with every build.
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=
RUN if [ -n "$TORCH_INDEX_URL" ]; then \
        pip install "torch==${TORCH_VERSION}" --index-url "$TORCH_INDEX_URL"; \
    else \
        pip install "torch==${TORCH_VERSION}"; \
    fi
# torch is installed already, so the `worker` extra's torch>=2.4 adds nothing (and never swaps the
# CPU build for the CUDA one).
RUN pip install ".[worker,postgres]"
COPY . .
# A named volume mounted on a missing path is created root-owned, and the worker (not root) builds
# models into it: create it owned by the worker's user, and Docker copies that ownership.
RUN pip install --no-deps . && mkdir -p /models && chown queuebot:queuebot /models
# What nvidia/cuda images set: the toolkit mounts the driver's compute libraries and nvidia-smi.
# Harmless on a machine without a GPU.
ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER queuebot

FROM base AS flower
RUN pip install ".[flower]"
COPY . .
RUN pip install --no-deps .
USER queuebot
