"""`ckptscope check`: rules that gate a model repository in CI. Pure analysis of a Checkpoint (plus small reads of
metadata files through its Source); never loads weights, never unpickles.

Public API::

    result = run_checks(ck, select=None, ignore=None, strict=False)   # CheckResult
    result = check("path/or/org-name")                                 # opens the source, reads the repo's config
    result.exit_code  # 0 no error, 1 an error fired

Each group of rules lives in its own module (integrity, index, metadata, pickles, config, tokenizer) with a
``run(ctx)`` function that calls ``ctx.add(rule_id, message, file=..., tensor=...)``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..report import Finding
from .registry import RULES, SEVERITIES, Rule, expand

GROUP_MODULES = ("validation", "integrity", "metadata", "index", "pickles", "config", "tokenizer", "kinds")
#: a GGUF checkpoint has llama.cpp's names and its own metadata: its loader's rules instead of config/index ones
GGUF_GROUP_MODULES = ("validation", "integrity", "metadata", "pickles", "gguf", "tokenizer")
MAX_FINDINGS_PER_RULE = 200  #: more are counted in the summary, not listed


@dataclass
class CheckOptions:
    select: list[str] | None = None  #: rule ids/prefixes that replace the default set ("ALL" for every rule)
    extend_select: list[str] = field(default_factory=list)  #: added to the default (or selected) set
    ignore: list[str] = field(default_factory=list)
    strict: bool = False  #: warnings count as errors
    severity: dict[str, str] = field(default_factory=dict)  #: per-rule severity overrides
    allow_globals: list[str] = field(default_factory=list)  #: pickle globals allowed (command line only)
    refused: list[str] = field(default_factory=list)  #: repository settings ignored because they weaken PK rules

    def enabled(self) -> set[str]:
        base = expand(self.select) if self.select else {r.id for r in RULES.values() if r.default}
        return (base | expand(self.extend_select)) - expand(self.ignore)


@dataclass
class CheckResult:
    source: str
    findings: list[Finding]
    rules_run: list[str]
    strict: bool = False
    suppressed: dict[str, int] = field(default_factory=dict)  #: findings over MAX_FINDINGS_PER_RULE, by rule
    notes: list[str] = field(default_factory=list)
    root: str | None = None  #: prefix for file paths when printing (how the user named a local folder)
    provenance: str | None = None  #: provenance.CATALOG_LABEL when the checked data came from the catalog
    parameters: dict | None = None  #: parameters.total / by_dtype of what was read (set by the check command)

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def exit_code(self) -> int:
        return 1 if self.count("error") else 0

    def path(self, f: Finding) -> str | None:
        """The finding's file as a path from where the user ran the command (repo-relative when a folder)."""
        if f.file is None:
            return None
        if self.root in (None, "", "."):
            return f.file
        return f"{self.root.rstrip('/')}/{f.file}"

    def to_dict(self) -> dict:
        return {
            "schema_version": 1,
            "source": self.source,
            "strict": self.strict,
            "summary": {"errors": self.count("error"), "warnings": self.count("warning"),
                        "info": self.count("info"), "rules_run": len(self.rules_run),
                        "suppressed": self.suppressed, "exit_code": self.exit_code},
            "findings": [dict(f.to_dict(), path=self.path(f), fix=RULES[f.rule].fix if f.rule in RULES else "")
                         for f in self.findings],
            "rules": [RULES[r].to_dict() for r in self.rules_run],
            "notes": self.notes,
            **({"provenance": self.provenance} if self.provenance else {}),
            **({"parameters": self.parameters} if self.parameters is not None else {}),
        }


class CheckContext:
    """What rules see: the Checkpoint, its source, and helpers that read small files once."""

    def __init__(self, ck, enabled: set[str]):
        self.ck = ck
        self.source = ck.source
        self.files: dict[str, int | None] = ck.files
        self.single = ck.source.weights_only_file()  #: the file, when the source is one .safetensors file
        self.enabled = enabled
        self.raw: list[tuple[str, str, str | None, str | None]] = []
        self._json: dict[str, tuple[object, str | None]] = {}
        self._bytes: dict[str, bytes | None] = {}
        self.extra_headers: list = []  #: headers of safetensors files the Checkpoint did not load (subfolders...)

    def on(self, *rule_ids: str) -> bool:
        return any(r in self.enabled for r in rule_ids)

    def add(self, rule_id: str, message: str, file: str | None = None, tensor: str | None = None) -> None:
        if rule_id not in RULES:
            raise KeyError(f"unregistered rule {rule_id}")
        if rule_id in self.enabled:
            self.raw.append((rule_id, message, file, tensor))

    def read(self, rel: str) -> bytes | None:
        if rel not in self._bytes:
            try:
                self._bytes[rel] = self.source.read_file(rel)
            except Exception:  # noqa: BLE001 - unreadable: reported by the rule that needs it
                self._bytes[rel] = None
        return self._bytes[rel]

    def json(self, rel: str) -> tuple[object, str | None]:
        """``(object, None)`` or ``(None, "why it does not parse")``."""
        if rel not in self._json:
            data = self.read(rel)
            if data is None:
                self._json[rel] = (None, "cannot be read")
            else:
                try:
                    self._json[rel] = (json.loads(data), None)
                except UnicodeDecodeError:
                    self._json[rel] = (None, "is not UTF-8 text")
                except RecursionError:
                    self._json[rel] = (None, "is not valid JSON (nested too deeply)")
                except ValueError as e:
                    self._json[rel] = (None, f"is not valid JSON ({e})")
        return self._json[rel]

    @property
    def problems(self):
        return self.ck.problems


def run_checks(ck, options: CheckOptions | None = None, *, source_name: str | None = None) -> CheckResult:
    """Run every enabled rule on a Checkpoint loaded with ``load_checkpoint(source, strict=False)``."""
    import importlib

    options = options or CheckOptions()
    enabled = options.enabled()
    ctx = CheckContext(ck, enabled)
    gguf = getattr(ck, "gguf", None) is not None or any(p.code.startswith("GG") for p in ck.problems)
    ctx.allow_globals = list(options.allow_globals)
    ctx.refused_settings = list(options.refused)
    from .metadata import discard_tokenizer_verify, finish_tokenizer_verify, start_tokenizer_verify

    if ctx.on("MD001"):
        verify = start_tokenizer_verify(ctx)
    else:
        verify = None
        discard_tokenizer_verify(getattr(ck, "_tokenizer_job", None))
        ck._tokenizer_job = None
    for name in (GGUF_GROUP_MODULES if gguf else GROUP_MODULES):
        mod = importlib.import_module(f"{__name__}.{name}")
        mod.run(ctx)
    finish_tokenizer_verify(ctx, verify)
    findings: list[Finding] = []
    seen: set[tuple] = set()
    per_rule: dict[str, int] = {}
    suppressed: dict[str, int] = {}
    for rule_id, message, file, tensor in ctx.raw:
        key = (rule_id, file, tensor, message)
        if key in seen:
            continue
        seen.add(key)
        per_rule[rule_id] = per_rule.get(rule_id, 0) + 1
        if per_rule[rule_id] > MAX_FINDINGS_PER_RULE:
            suppressed[rule_id] = suppressed.get(rule_id, 0) + 1
            continue
        sev = options.severity.get(rule_id, RULES[rule_id].severity)
        if options.strict and sev == "warning":
            sev = "error"
        findings.append(Finding(rule_id, sev, message, file, tensor))
    order = {s: i for i, s in enumerate(SEVERITIES)}
    findings.sort(key=lambda f: (order[f.severity], f.file or "", f.rule, f.tensor or ""))
    # Suppressed errors still decide the exit code: keep one marker finding per rule.
    for rule_id, n in suppressed.items():
        sev = options.severity.get(rule_id, RULES[rule_id].severity)
        if options.strict and sev == "warning":
            sev = "error"
        findings.append(Finding(rule_id, sev, f"... and {n} more {rule_id} findings not listed"))
    from ..provenance import label

    prov = label(ck.source)
    return CheckResult(source=source_name or ck.source.display, findings=findings,
                       rules_run=sorted(enabled), strict=options.strict, suppressed=suppressed,
                       notes=([prov] if prov else []) + list(ck.notes), provenance=prov)


def load_for_check(source, variant=None):
    """The Checkpoint ``check`` runs on. A single local file that is pickle-based (by content, whatever its
    name: ``check model.bin``) is not read as safetensors: the PK rules scan it and nothing else is assumed."""
    import os

    from ..checkpoint import Checkpoint, load_checkpoint

    single = source.weights_only_file()
    root = getattr(source, "root", None)
    if single and root and source.kind == "local":
        from ..security.containers import SNIFF_BYTES, sniff
        from .pickles import _not_pickle

        path = os.path.join(root, single)
        try:
            with open(path, "rb") as f:
                head = f.read(SNIFF_BYTES)
            size = os.path.getsize(path)
        except OSError:
            head, size = b"", 0
        kind = None if _not_pickle(head, size) else sniff(head)
        if kind == "pickle0":
            from ..security import sniff_pickle_container

            kind = sniff_pickle_container(path)
        if kind:
            ck = Checkpoint(source=source, files=source.list_files())
            ck.notes.append(f"{single} is pickle-based ({kind}, by content): scanned statically for what loading "
                            "it would import; it has no safetensors header")
            return ck
    from .metadata import discard_tokenizer_verify, prestart_tokenizer_verify

    job = prestart_tokenizer_verify(source)  # MD001's tokenizers-library load, beside the reading below
    try:
        ck = load_checkpoint(source, strict=False, variant=variant)
    except BaseException:
        discard_tokenizer_verify(job)
        raise
    ck._tokenizer_job = job
    return ck


def load_options(source, cli: CheckOptions | None = None) -> CheckOptions:
    """Merge the checked repo's ``.ckptscope.toml`` / ``[tool.ckptscope]`` in pyproject.toml with the CLI's."""
    from .settings import read_settings

    return read_settings(source, cli)


def check(spec: str, *, select=None, ignore=None, strict: bool = False, revision=None, token=None,
          offline=None, allow_globals=None) -> CheckResult:
    """Open ``spec`` and run the checks, honouring the repository's own ckptscope settings."""
    from ..sources import open_source

    source = open_source(spec, revision=revision, token=token, offline=offline, pickles=True)
    opts = load_options(source, CheckOptions(select=select, ignore=list(ignore or []), strict=strict,
                                             allow_globals=list(allow_globals or [])))
    return run_checks(load_for_check(source), opts)


__all__ = ["RULES", "Rule", "CheckOptions", "CheckResult", "CheckContext", "run_checks", "check", "load_options"]
