"""What an import may be: the allow-list and the denylist, both data (``allowlist.json``, ``denylist.json``).

A name is safe only if it is on the allow-list (exactly, or fully matching one of its patterns) or was allowed
on the command line. Everything else fails. The denylist only grades: a name under one of its prefixes, a name
that reaches a dunder attribute, or one the walker could not resolve is *critical*, with the reason.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).parent


@lru_cache(maxsize=1)
def _allow() -> tuple[dict, list]:
    doc = json.loads((HERE / "allowlist.json").read_text(encoding="utf-8"))
    return doc["exact"], [(re.compile(p), why) for p, why in doc["patterns"].items()]


@lru_cache(maxsize=1)
def _deny() -> dict:
    return json.loads((HERE / "denylist.json").read_text(encoding="utf-8"))["prefixes"]


def _dunder(part: str) -> bool:
    return len(part) > 4 and part.startswith("__") and part.endswith("__")


def allow_reason(name: str) -> str | None:
    exact, patterns = _allow()
    if name in exact:
        return exact[name]
    for p, why in patterns:
        if p.fullmatch(name):
            return why
    return None


def deny_reason(name: str) -> str | None:
    """Why ``name`` is a known gadget, or None."""
    if name.startswith("<"):
        return "the name is computed at load time, so what it imports cannot be known statically"
    deny = _deny()
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        prefix = ".".join(parts[:i])
        if prefix in deny:
            return deny[prefix]
        stripped = prefix.replace("__builtin__.", "builtins.").replace("__builtins__.", "builtins.")
        if stripped in deny:
            return deny[stripped]
    if any(_dunder(p) for p in parts[1:]):
        return "reaches a dunder attribute (__globals__, __builtins__, __class__, ...): a route to any object"
    return None


def judge(name: str, extra_allowed: frozenset[str] | set[str] = frozenset()) -> tuple[str, str]:
    """``("allowed", why)``, ``("cli-allowed", why)``, ``("critical", why)`` or ``("error", why)``."""
    if name in extra_allowed:
        return "cli-allowed", "allowed on the command line (--allow-global)"
    why = allow_reason(name)
    if why is not None:
        return "allowed", why
    why = deny_reason(name)
    if why is not None:
        return "critical", why
    return "error", "not on the allow-list: loading the file imports and may call it"
