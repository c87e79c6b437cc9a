# Two images from one file: `web` (API and bots, no torch) and `worker` (models, torch).
FROM python:3.11-slim AS base
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core core
COPY db db
COPY workers workers
COPY bots bots
COPY cli cli
RUN useradd --create-home queuebot

FROM base AS web
RUN pip install ".[postgres]"
USER queuebot

FROM base AS worker
# PyPI's Linux torch wheel is a CUDA build; pass another spec (a CPU wheel index) for CPU workers.
ARG TORCH_SPEC="torch==2.13.0"
RUN pip install ${TORCH_SPEC} && pip install ".[worker,postgres]"
USER queuebot
