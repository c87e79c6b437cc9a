"""Parsing what people type after a slash command."""

from __future__ import annotations

import re

from pydantic import ValidationError

from core.jobs import GeneratePayload

GENERATE_USAGE = "Usage: `/generate <prompt> [max_tokens=64] [temperature=0.8]`"
# Option names people are likely to type, mapped to the payload's fields.
GENERATE_OPTIONS = {
    "max_tokens": "max_new_tokens",
    "max_new_tokens": "max_new_tokens",
    "tokens": "max_new_tokens",
    "temperature": "temperature",
    "temp": "temperature",
}
TRAILING_OPTION = re.compile(r"\s+([A-Za-z_]+)=(\S+)$")


class CommandError(ValueError):
    """What the person typed cannot be run; the message says why and how to fix it."""


def parse_generate(text: str) -> GeneratePayload:
    """``<prompt> [max_tokens=N] [temperature=T]``: options are read from the end of the text."""
    rest, options = " " + text.strip(), {}
    while match := TRAILING_OPTION.search(rest):
        name, value = match.group(1).lower(), match.group(2)
        if name not in GENERATE_OPTIONS:
            raise CommandError(f"Unknown option `{name}`. {GENERATE_USAGE}")
        options[GENERATE_OPTIONS[name]] = value
        rest = rest[: match.start()]
    prompt = rest.strip()
    if not prompt:
        raise CommandError(f"Give me a prompt to continue. {GENERATE_USAGE}")
    try:
        return GeneratePayload(prompt=prompt, **options)
    except ValidationError as exc:
        raise CommandError(f"{describe(exc)}. {GENERATE_USAGE}") from None


def describe(exc: ValidationError) -> str:
    """The first validation problem, phrased for a person: field name and what is wrong."""
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"])
    return f"`{field}`: {error['msg']}" if field else str(error["msg"])
