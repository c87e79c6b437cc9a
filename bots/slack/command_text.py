"""Parsing what people type after a slash command."""

from __future__ import annotations

import re

from pydantic import ValidationError

from core.jobs import GeneratePayload, ImagePayload

GENERATE_USAGE = "Usage: `/generate <prompt> [max_tokens=64] [temperature=0.8]`"
# Option names people are likely to type, mapped to the payload's fields.
GENERATE_OPTIONS = {
    "max_tokens": "max_new_tokens",
    "max_new_tokens": "max_new_tokens",
    "tokens": "max_new_tokens",
    "temperature": "temperature",
    "temp": "temperature",
}
IMAGINE_USAGE = "Usage: `/imagine <digit 0-9> [n=4] [seed=S]`"
IMAGINE_OPTIONS = {"n": "n", "count": "n", "seed": "seed"}
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


def parse_imagine(text: str) -> ImagePayload:
    """``<digit or a text naming one> [n=N] [seed=S]``: "7", "seven n=8", "a 3 seed=42"."""
    rest, options = " " + text.strip(), {}
    while match := TRAILING_OPTION.search(rest):
        name, value = match.group(1).lower(), match.group(2)
        if name not in IMAGINE_OPTIONS:
            raise CommandError(f"Unknown option `{name}`. {IMAGINE_USAGE}")
        options[IMAGINE_OPTIONS[name]] = value
        rest = rest[: match.start()]
    prompt = rest.strip()
    if not prompt:
        raise CommandError(f"Which digit should I draw? {IMAGINE_USAGE}")
    try:
        return ImagePayload(prompt=prompt, **options)
    except ValidationError as exc:
        raise CommandError(f"{describe(exc)}. {IMAGINE_USAGE}") from None


def describe(exc: ValidationError) -> str:
    """The first validation problem, phrased for a person: field name and what is wrong."""
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"])
    return f"`{field}`: {error['msg']}" if field else str(error["msg"])
