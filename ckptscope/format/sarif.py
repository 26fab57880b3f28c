"""`ckptscope check --format sarif`: SARIF 2.1.0 for code-scanning upload (github/codeql-action/upload-sarif)."""

from __future__ import annotations

import hashlib
import json

from .. import __version__
from ..checks.registry import RULES

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def to_sarif(result) -> dict:
    used = sorted({f.rule for f in result.findings if f.rule in RULES} | set(result.rules_run))
    index = {r: i for i, r in enumerate(used)}
    rules = [{
        "id": r,
        "name": RULES[r].summary.replace(" ", "_")[:64],
        "shortDescription": {"text": RULES[r].summary},
        "fullDescription": {"text": f"{RULES[r].summary}. Fix: {RULES[r].fix}" if RULES[r].fix else RULES[r].summary},
        "help": {"text": RULES[r].fix or RULES[r].summary},
        "defaultConfiguration": {"level": LEVEL[RULES[r].severity]},
        "properties": {"group": RULES[r].group},
    } for r in used]
    results = []
    for f in result.findings:
        res = {
            "ruleId": f.rule,
            "level": LEVEL[f.severity],
            "message": {"text": (f"{f.tensor}: " if f.tensor else "") + f.message},
        }
        if f.rule in index:
            res["ruleIndex"] = index[f.rule]
        loc: dict = {}
        path = result.path(f)
        if path:
            loc["physicalLocation"] = {"artifactLocation": {"uri": path.lstrip("/"), "uriBaseId": "%SRCROOT%"},
                                       "region": {"startLine": 1}}
        if f.tensor:
            loc["logicalLocations"] = [{"name": f.tensor, "kind": "member"}]
        if loc:
            res["locations"] = [loc]
        key = "\0".join([f.rule, path or "", f.tensor or "", f.message])
        res["partialFingerprints"] = {"ckptscopeFinding/v1": hashlib.sha256(key.encode()).hexdigest()[:32]}
        results.append(res)
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "ckptscope", "version": __version__, "semanticVersion": __version__,
                                "informationUri": "https://github.com/ckptscope/ckptscope", "rules": rules}},
            "results": results,
            "columnKind": "unicodeCodePoints",
            "properties": {"source": result.source, "strict": result.strict,
                           **({"provenance": result.provenance} if result.provenance else {})},
            **({"invocations": [{"executionSuccessful": True, "toolExecutionNotifications": [
                {"level": "warning", "message": {"text": f"{result.source}: {result.provenance}"}}]}]}
               if result.provenance else {}),
        }],
    }


def render(result) -> str:
    return json.dumps(to_sarif(result), indent=2, ensure_ascii=False)
