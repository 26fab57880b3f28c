"""The Checkpoint: config + tensors + tokenizer + file facts, the one object all analysis takes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .errors import CkptError, HeaderError, SourceError
from .readers.config import ModelConfig, parse_config
from .readers.index import IndexInfo, cross_check, parse_index
from .readers.safetensors import HeaderInfo, Problem, TensorInfo
from .readers.validate_config import validate_config
from .readers.tokenizer import (TokenizerInfo, apply_tokenizer_config, from_tokenizer_json, from_vocab_json,
                                from_vocab_txt)
from .sources.base import Source

WEIGHT_EXTS = (".safetensors",)
LEGACY_EXTS = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".h5", ".msgpack", ".gguf", ".onnx", ".npz")


@dataclass
class Checkpoint:
    source: Source
    files: dict[str, int | None]
    config: ModelConfig | None = None
    generation_config: dict | None = None
    index: IndexInfo | None = None
    headers: list[HeaderInfo] = field(default_factory=list)
    tensors: list[TensorInfo] = field(default_factory=list)
    tokenizer: TokenizerInfo | None = None
    tokenizer_note: str | None = None
    problems: list[Problem] = field(default_factory=list)  #: collected when loaded with strict=False
    index_only: bool = False  #: an index whose shards are all absent (a metadata-only copy)
    notes: list[str] = field(default_factory=list)
    #: repo kind read from its marker files (ckptscope.kinds): "diffusers", "sentence_transformers", "peft",
    #: "mlx", "onnx"; None for a plain transformers checkpoint
    kind: str | None = None
    kind_info: dict = field(default_factory=dict)  #: what the kind's reader found (modules, adapter, variants...)
    #: weights of a kind's other modules (Diffusers components, Sentence Transformers Dense, ONNX initializers):
    #: counted in the totals, kept out of ``tensors`` so the root model's config rules see only its own tensors
    module_headers: list[HeaderInfo] = field(default_factory=list)
    packed_factors: dict[str, int] = field(default_factory=dict)  #: tensor name -> logical params per element
    gguf: object | None = None  #: the GGUF model read (readers.gguf_model.GGUFModel) when the source is GGUF
    gguf_variants: list[dict] = field(default_factory=list)  #: every GGUF model of the source, when several

    @property
    def has_weights(self) -> bool:
        return bool(self.headers or self.module_headers) or self.gguf is not None

    @property
    def format(self) -> str:
        return "gguf" if self.gguf is not None else "safetensors"

    def all_tensors(self) -> list[TensorInfo]:
        """The root model's tensors and every module's, each counted once."""
        if not self.module_headers:
            return self.tensors
        return self.tensors + [t for h in self.module_headers for t in h.tensors]

    @property
    def weight_files(self) -> list[str]:
        return [h.file for h in self.headers]

    def tensor_map(self) -> dict[str, TensorInfo]:
        return {t.name: t for t in self.tensors}


def _pick_index(files: dict[str, int | None]) -> str | None:
    idx = [f for f in files if "/" not in f and f.endswith(".safetensors.index.json")]
    if not idx:
        return None
    for pref in ("model.safetensors.index.json",):
        if pref in idx:
            return pref
    return sorted(idx)[0]


def load_checkpoint(source: Source, *, strict: bool = True, tokenizer: bool = True,
                    variant: str | None = None) -> Checkpoint:
    """Read config, index, headers and tokenizer from ``source``. Never reads tensor data.

    ``strict`` raises the first header/index problem (inspect); otherwise problems are collected (check).
    ``variant`` picks a Diffusers weight variant (``fp16``...; default: the full-precision files).
    """
    jobs: list = []
    try:
        ck = _load(source, strict, tokenizer, variant, jobs)
    finally:  # a background tokenizer parse nobody took (an error, or a path that reads no tokenizer): reap it
        for got in jobs:
            got[0].cancel()
    ck._tokenizer_job = None
    return ck


def _load(source: Source, strict: bool, tokenizer: bool, variant: str | None, jobs: list) -> Checkpoint:
    from .kinds import attach, detect

    if not strict and hasattr(source, "confine"):
        source.confine = True  # check: files must resolve inside the checkout (symlinks leaving it are refused)
    files = source.list_files()
    if not strict and hasattr(source, "fetch_index"):
        source.fetch_index = True  # collect mode (check) holds the repo's own index file against the shards
    ck = Checkpoint(source=source, files=files)
    single = source.weights_only_file()
    ck.kind = detect(source, files)
    if single and not single.endswith(WEIGHT_EXTS) and ck.kind == "onnx":
        single = None  # a single .onnx file: its own reader (ckptscope.kinds.onnx)
    if not single and ck.kind is None and source.kind == "local":  # the Hub source says so itself
        require_something_to_read(source, files, legacy_ok=not strict)
    if tokenizer and (got := _start_tokenizer(source, files)) is not None:
        ck._tokenizer_job = got
        jobs.append(got)

    if "config.json" in files:
        try:
            ck.config = parse_config(source.read_file("config.json"), _disp(source, "config.json"))
        except CkptError as e:
            if strict:
                raise
            ck.problems.append(Problem("MD010" if isinstance(e, SourceError) else "MD001", "config.json",
                                       e.message))
        if ck.config is not None:
            issues = validate_config(ck.config.full)
            if issues and strict:
                more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
                raise CkptError(issues[0].message() + more, _disp(source, "config.json"))
            if issues:  # check: one CF020 error per field, and nothing downstream sees the config
                ck.problems.extend(Problem("CF020", "config.json", i.message()) for i in issues)
                ck.config = None
    if "generation_config.json" in files:
        try:
            ck.generation_config = json.loads(source.read_file("generation_config.json"))
        except ValueError:
            if strict:
                raise CkptError("is not valid JSON", _disp(source, "generation_config.json")) from None
            ck.problems.append(Problem("MD001", "generation_config.json", "is not valid JSON"))
        except SourceError as e:  # refused by the bounded reader
            if strict:
                raise
            ck.problems.append(Problem("MD010", "generation_config.json", e.message))

    from .checkpoint_gguf import gguf_sets, load_gguf

    gsets = gguf_sets(source, files, single)
    if gsets is not None:  # GGUF: its own header, config and tokenizer (checkpoint_gguf)
        load_gguf(ck, source, gsets, strict=strict)
        if tokenizer and ck.tokenizer is None:
            _load_tokenizer(ck, source, files)
        return ck
    if single:
        shards = [single]
        if ck.config is not None:
            ck.notes.append(f"config.json read from the folder beside {single}")
    elif ck.kind == "onnx" and source.weights_only_file():
        shards = []
    else:
        idx_name = _pick_index(files)
        if idx_name and not strict:
            try:
                ck.index = parse_index(source.read_file(idx_name), idx_name)
            except CkptError as e:  # the index is unusable: report it, then read the shards that are there
                ck.problems.append(Problem("IX000", idx_name, e.message))
                idx_name = None
        elif idx_name:
            ck.index = parse_index(source.read_file(idx_name), idx_name)
        if ck.index is not None:
            shards = ck.index.shards
            absent = [s for s in shards if s not in files]
            if absent and len(absent) == len(shards) and strict:
                # A metadata-only copy (the index without its shards): describe it from config.json instead.
                ck.notes.append(f"{idx_name} names {len(shards)} shard file(s) and none is here: the numbers are "
                                "predicted from config.json and compared with the index")
                ck.index_only = True
                shards = []
            elif absent:
                msg = f"names shard {absent[0]} which is not in the checkpoint" + (
                    f" ({len(absent) - 1} more missing)" if len(absent) > 1 else "")
                if strict:
                    raise HeaderError(msg, idx_name)
                ck.problems.append(Problem("IX005", idx_name, msg))
                shards = [s for s in shards if s in files]
        else:
            shards = sorted(f for f in files if "/" not in f and f.endswith(WEIGHT_EXTS))
    if shards:
        ck.headers = source.read_headers(shards, strict=True) if strict else read_headers_collect(source, shards)
        for h in ck.headers:
            ck.tensors.extend(h.tensors)
            ck.problems.extend(h.problems)
        if ck.index is not None:
            ck.problems.extend(cross_check(ck.index, ck.headers, strict=strict))
        elif len(ck.headers) > 1:
            seen: dict[str, str] = {}
            for h in ck.headers:
                for t in h.tensors:
                    if t.name in seen:
                        msg = f"tensor {t.name!r} is also in {seen[t.name]} (duplicate across files)"
                        if strict:
                            raise HeaderError(msg, h.file)
                        ck.problems.append(Problem("IX002", h.file, msg, t.name))
                    seen.setdefault(t.name, h.file)
    attach(ck, source, strict=strict, variant=variant)  # repo kinds (ckptscope.kinds) and packed low-bit weights
    if tokenizer:
        _load_tokenizer(ck, source, files, strict)
    return ck


def require_something_to_read(source: Source, files: dict[str, int | None], *, legacy_ok: bool = False) -> None:
    """Nothing to read is an error: a source with no config.json, no safetensors weights and no index (an empty
    folder, a README alone, the parent of a model folder) raises SourceError saying what was looked for where.
    ``legacy_ok``: pickle/GGUF/... weight files count too (``check`` scans them)."""
    top = [f for f in files if "/" not in f]
    if "config.json" in top or any(f.endswith((*WEIGHT_EXTS, ".safetensors.index.json", ".gguf")) for f in top):
        return
    if any(f.endswith(".gguf") for f in files) or (legacy_ok and any(f.endswith(LEGACY_EXTS) for f in top)):
        return
    where = getattr(source, "root", None) or source.display
    below = sorted({f.split("/")[0] + "/" for f in files if "/" in f and
                    f.rsplit("/", 1)[-1] in ("config.json", "model.safetensors", "model.safetensors.index.json")})
    if below:
        hint = f"; model folders below it: {', '.join(below[:4])}" + (", ..." if len(below) > 4 else "") + \
               " (point at one of them)"
    elif top:
        hint = f"; it holds only {', '.join(sorted(top)[:4])}" + (", ..." if len(top) > 4 else "")
    else:
        hint = "; the folder is empty"
    raise SourceError("nothing to read: no config.json, no *.safetensors and no *.safetensors.index.json"
                      + hint, where)


# Header errors that stop parsing even in collect mode, told apart by the reader's message (first match wins).
_FATAL_CODES = (("empty", "ST012"), ("LFS", "ST011"), ("too short", "ST001"), ("header length", "ST002"),
                ("truncated", "ST002"), ("duplicate key", "ST013"))


def header_error_problem(e: CkptError, file: str) -> Problem:
    """A header error that prevented parsing, as a Problem with its ST code (ST003 when nothing more specific)."""
    code = next((c for key, c in _FATAL_CODES if key in e.message), "ST003")
    if isinstance(e, SourceError):
        code = "ST000"
    return Problem(code, file, e.message)


def read_headers_collect(source: Source, paths: list[str]) -> list[HeaderInfo]:
    """``source.read_headers`` in collect mode: a file whose header cannot be parsed becomes a HeaderInfo with no
    tensors and one Problem instead of stopping the others. One batched call when nothing is wrong."""
    try:
        return source.read_headers(paths, strict=False)
    except CkptError:
        pass
    out = []
    for p in paths:
        try:
            out.extend(source.read_headers([p], strict=False))
        except CkptError as e:
            out.append(HeaderInfo(file=p, file_size=source.list_files().get(p), header_len=0,
                                  problems=[header_error_problem(e, p)]))
    return out


def _disp(source: Source, rel: str) -> str:
    return rel if source.kind != "local" else f"{source.root}/{rel}"  # type: ignore[attr-defined]


def _start_tokenizer(source: Source, files):
    """A local tokenizer.json (+ tokenizer_config.json) parsed in a forked child while the headers are read:
    (job, tokenizer.json bytes), or None (not local, no such file, a process with threads, any read problem: the
    ordinary reading later reports it where it always did)."""
    if getattr(source, "kind", None) != "local" or "tokenizer.json" not in files \
            or getattr(source, "tokenizer_info", None) is not None:
        return None
    from . import background

    if not background.can_fork():
        return None
    try:
        data = source.read_file("tokenizer.json")
        conf = source.read_file("tokenizer_config.json") if "tokenizer_config.json" in files else None
    except Exception:  # noqa: BLE001 - reported by the ordinary read in _load_tokenizer
        return None
    from .readers.tokenizer import tokenizer_json_facts

    return background.start(tokenizer_json_facts, data, conf, fork=True), data


def _job_tokenizer(ck: Checkpoint):
    """The TokenizerInfo from the background parse, or None when there was none (or it did not answer: the
    ordinary reading then runs). A CkptError from the reader is raised here, as the ordinary reading would."""
    got = getattr(ck, "_tokenizer_job", None)
    ck._tokenizer_job = None
    if got is None:
        return None
    job, data = got
    from .readers.tokenizer import from_facts

    try:
        result = job.result()
    except RuntimeError:
        return None
    if isinstance(result, str):  # crashed / did not finish: read it here instead
        return None
    return from_facts(result, data)


def _load_tokenizer(ck: Checkpoint, source: Source, files, strict: bool = False) -> None:
    info = None
    summary = getattr(source, "tokenizer_info", None)  # snapshots keep a summary, not the files
    if summary is not None and (info := summary()) is not None:
        ck.tokenizer = info
        return
    try:
        from_job = False
        if "tokenizer.json" in files and (info := _job_tokenizer(ck)) is not None:
            from_job = True  # tokenizer.json and tokenizer_config.json were parsed beside the header reading
        elif "tokenizer.json" in files:
            info = from_tokenizer_json(source.read_file("tokenizer.json"), "tokenizer.json")
        elif "vocab.json" in files:
            merges = source.read_file("merges.txt") if "merges.txt" in files else None
            info = from_vocab_json(source.read_file("vocab.json"), merges, "vocab.json")
        elif "vocab.txt" in files:
            info = from_vocab_txt(source.read_file("vocab.txt"), "vocab.txt")
        if info is not None and "tokenizer_config.json" in files and not from_job:
            apply_tokenizer_config(info, source.read_file("tokenizer_config.json"))
    except SourceError as e:
        if strict:  # refused (not a regular file, over its size cap, outside the checkout): never a quiet skip
            raise
        ck.tokenizer_note = f"tokenizer not read: {e}"
        ck.problems.append(Problem("MD010", (e.file or "tokenizer").rsplit("/", 1)[-1], e.message))
        info = None
    except CkptError as e:
        ck.tokenizer_note = f"tokenizer not read: {e}"
        ck.problems.append(Problem("TK000", e.file or "tokenizer", e.message))
        info = None
    ck.tokenizer = info
