"""The Report: plain data, serialisable to JSON with a schema version. Formatters only format it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1

SEVERITIES = ("error", "warning", "info")


@dataclass
class Finding:
    """Something worth telling: a rule id, a severity, where, and a one-line message with the fix."""

    rule: str
    severity: str  #: "error", "warning" or "info"
    message: str
    file: str | None = None
    tensor: str | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Report:
    """What `inspect` found. Every number states its unit in its key (``bytes``, ``parameters``)."""

    source: dict[str, Any]
    model: dict[str, Any]
    parameters: dict[str, Any]
    bytes: dict[str, Any]
    tensors: dict[str, Any]
    files: list[dict[str, Any]]
    by_layer: list[dict[str, Any]] = field(default_factory=list)
    tokenizer: dict[str, Any] | None = None
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: sections added by later stages: "architecture", "reconciliation", "quantized", "memory", ...
    sections: dict[str, Any] = field(default_factory=dict)
    basis: str = "headers"  #: "headers" (read from safetensors headers) or "config" (predicted from config.json)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict:
        d = {
            "schema_version": self.schema_version,
            "basis": self.basis,
            "source": self.source,
            "model": self.model,
            "parameters": self.parameters,
            "bytes": self.bytes,
            "tensors": self.tensors,
            "files": self.files,
            "by_layer": self.by_layer,
            "tokenizer": self.tokenizer,
            "findings": [f.to_dict() for f in self.findings],
            "notes": self.notes,
        }
        d.update(self.sections)
        return d
