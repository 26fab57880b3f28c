"""`ckptscope check --format junit`: one test case per rule that ran; a rule with an error finding fails
(a warning fails too under --strict, since the result already counts it as an error)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ..checks.registry import RULES

_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _x(s: str) -> str:
    """Drop characters XML 1.0 cannot carry (tensor names come from untrusted headers)."""
    return _BAD_XML.sub("\ufffd", s)


def render(result) -> str:
    by_rule: dict[str, list] = {r: [] for r in result.rules_run}
    for f in result.findings:
        by_rule.setdefault(f.rule, []).append(f)
    suite = ET.Element("testsuite", name="ckptscope check", tests=str(len(by_rule)),
                       failures=str(sum(1 for fs in by_rule.values() if any(f.severity == "error" for f in fs))),
                       errors="0", skipped="0")
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="source", value=_x(result.source))
    if result.provenance:
        ET.SubElement(props, "property", name="provenance", value=result.provenance)
        ET.SubElement(suite, "system-out").text = f"{_x(result.source)}: {result.provenance}"
    for rule_id in sorted(by_rule):
        fs = by_rule[rule_id]
        r = RULES.get(rule_id)
        case = ET.SubElement(suite, "testcase", classname=f"ckptscope.{rule_id[:2]}",
                             name=f"{rule_id} {r.summary if r else ''}".strip())
        lines = [f"{result.path(f) or result.source}{':' + f.tensor if f.tensor else ''}: {f.severity}: {f.message}"
                 for f in fs]
        errors = [f for f in fs if f.severity == "error"]
        if errors:
            fail = ET.SubElement(case, "failure", message=_x(errors[0].message), type=rule_id)
            fail.text = _x("\n".join(lines) + (f"\nfix: {r.fix}" if r and r.fix else ""))
        elif lines:
            ET.SubElement(case, "system-out").text = _x("\n".join(lines))
    root = ET.Element("testsuites", name="ckptscope", tests=suite.get("tests"), failures=suite.get("failures"))
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
