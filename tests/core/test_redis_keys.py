"""Every Redis key queuebot writes is named in core/redis_keys.py, under its prefix, and no two meet."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from core import redis_keys

ROOT = Path(__file__).resolve().parents[2]
CODE = ("bots", "cli", "core", "db", "training", "workers")
KEY_LIKE = re.compile(r"queuebot:[\w:.-]*")


def test_every_key_is_under_the_prefix_and_none_is_inside_another() -> None:
    names = redis_keys.all_names()
    assert len(set(names.values())) == len(names)
    for name, key in names.items():
        assert key.startswith(redis_keys.PREFIX) and len(key) > len(redis_keys.PREFIX), name
    prefixes = [key for key in names.values() if key.endswith(":")]
    for prefix in prefixes:
        # A key that a prefix could produce would be read and overwritten as one of its entries.
        inside = [key for key in names.values() if key != prefix and key.startswith(prefix)]
        assert inside == [], f"{prefix} also names {inside}"


def test_no_module_names_a_key_of_its_own() -> None:
    registry = ROOT / "core" / "redis_keys.py"
    found = []
    for folder in CODE:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == registry:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    if KEY_LIKE.fullmatch(node.value):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
                elif isinstance(node, ast.JoinedStr) and node.values:
                    first = node.values[0]
                    if isinstance(first, ast.Constant) and KEY_LIKE.fullmatch(str(first.value)):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: f{first.value!r}...")
    assert found == []
