"""GGUF sources into the Checkpoint: which files form the model (a single file, a split set, the chosen
quantization of a folder or repo), their headers through the source, and the records the pipeline takes
(tensors with ggml types as dtypes, config from the GGUF hyper-parameters, tokenizer from ``tokenizer.ggml.*``).

Every GGUF model of the source is read (``check`` judges them all; ``inspect`` lists them as variants); the
selected one becomes the Checkpoint's tensors.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .errors import CkptError
from .readers.gguf import GGUFError
from .readers.gguf_model import GGUFModel, build_model, refuse, split_key, to_config, to_tokenizer
from .readers.safetensors import Problem
from .sources.gguf_files import GGUFSet, group, select


@dataclass
class Variant:
    """One GGUF model of the source (a quantization), as listed by ``inspect``."""

    set: GGUFSet
    model: GGUFModel | None = None
    error: CkptError | None = None

    def to_dict(self) -> dict:
        from .analysis.gguf.types import TYPES

        d = {"name": self.set.name, "files": self.set.files, "label": self.set.label, "kind": self.set.kind,
             "size": self.set.size, "split": self.set.split}
        if self.model is not None:
            m = self.model
            params = sum(t.numel for t in m.tensors)
            tb = m.tensor_bytes
            d.update(file_type=m.file_type, parameters=params, tensors=len(m.tensors), tensor_bytes=tb,
                     header_bytes=m.header_bytes,
                     bpw=round(8.0 * tb / params, 4) if params else None,
                     architecture=m.kv.get("general.architecture"), truncated=m.truncated,
                     vocab_only=m.vocab_only)
            _ = TYPES
        if self.error is not None:
            d["error"] = str(self.error)
        return d


def gguf_sets(source, files: dict[str, int | None], single: str | None) -> list[GGUFSet] | None:
    """The GGUF models to read, or None when the source is not GGUF (safetensors present, or no .gguf file).

    A single local file is judged by its first bytes, whatever its name; a split part brings its set."""
    if single:
        kind = _kind(source, single)
        if kind != "gguf":
            return None
        sk = split_key(single)
        if sk is not None:
            sets = [s for s in group(files) if single in s.files]
            if sets:
                return sets
        return [GGUFSet(name=single, files=[single], label=None, sizes=[files.get(single)])]
    if any("/" not in f and f.endswith(".safetensors") for f in files):
        return None
    stored = getattr(source, "gguf_stored", None)  # a snapshot: the GGUF files whose headers it keeps
    if stored is not None:
        files = {k: v for k, v in files.items() if k in stored}
    sets = group(files)
    return sets or None


def _kind(source, rel: str) -> str | None:
    fk = getattr(source, "file_kind", None)
    if fk is None:
        return "gguf" if rel.lower().endswith(".gguf") else None
    return fk(rel)


def load_gguf(ck, source, sets: list[GGUFSet], *, strict: bool) -> None:
    """Fill ``ck`` (tensors, config, tokenizer, notes, problems) from the GGUF models in ``sets``."""
    selector = getattr(source, "gguf_select", None)
    chosen, how = select(sets, selector)
    if chosen is None:
        if selector:
            avail = ", ".join(sorted({s.label or s.name for s in sets if s.kind == "model"})[:12]) or "none"
            raise CkptError(f"{how}; quantizations here: {avail}", source.display)
        chosen = sets[0]  # only mmproj / imatrix files: describe the first
        how = f"no model file; the {chosen.kind} file"
    to_read = [chosen] if selector else [s for s in sets if s.kind == "model"] or [chosen]
    if chosen not in to_read:
        to_read.insert(0, chosen)
    variants = [Variant(s) for s in to_read]

    def read(v: Variant) -> None:
        try:
            v.model = build_model(source.read_gguf(v.set.files))
        except CkptError as e:
            v.error = e

    if getattr(source, "kind", "") == "hub" and len(variants) > 1:
        with ThreadPoolExecutor(max_workers=min(8, len(variants))) as ex:
            list(ex.map(read, variants))
    else:
        for v in variants:
            read(v)
    main = next(v for v in variants if v.set is chosen)
    if getattr(source, "kind", "") == "hub":
        n = sum(len(v.set.files) for v in variants)
        ck.notes.append(f"{n} GGUF header{'s' * (n > 1)} read with ranged requests "
                        f"({getattr(source, 'gguf_downloaded', 0):,} bytes downloaded for "
                        f"{getattr(source, 'header_bytes', 0):,} header bytes)")
    if main.error is not None:
        if strict or not isinstance(main.error, GGUFError):
            raise main.error
    for v in variants:
        if v.error is not None:
            code = getattr(v.error, "code", "GG003")
            ck.problems.append(Problem(code, v.error.file or v.set.name, v.error.message,
                                       getattr(v.error, "tensor", None)))
        elif v.model is not None:
            if strict and v is main:
                bad = refuse(v.model)
                if bad is not None:
                    raise bad
            for code, file, msg, tensor in v.model.problems:
                ck.problems.append(Problem(code, file, msg, tensor))
    ck.gguf_variants = [v.to_dict() for v in variants] if not selector and len(variants) > 1 else []
    m = main.model
    ck.gguf = m
    if m is None:
        return
    ck.tensors = list(m.tensors)
    cfg = to_config(m)
    if cfg is not None:
        if ck.config is not None:
            ck.notes.append("config.json is here too; the GGUF's own metadata describes the model read")
        ck.config = cfg
    tok = to_tokenizer(m)
    if tok is not None:
        ck.tokenizer = tok
    if len(sets) > 1 or selector:
        ck.notes.append(f"GGUF model: {', '.join(chosen.files) if len(chosen.files) <= 3 else chosen.files[0] + ' ...'}"
                        f" ({how})")
    if len(chosen.files) > 1:
        ck.notes.append(f"split GGUF: {len(chosen.files)} files merged into one model")
    if m.vocab_only:
        ck.notes.append("vocab-only GGUF (a tokenizer file, like llama.cpp's models/ggml-vocab-*.gguf): "
                        "tokenizer metadata and no tensors")
    elif m.truncated:
        ck.notes.append("TRUNCATED: the file ends before its tensor data does (a header extract or an incomplete "
                        f"download); the header describes {m.expected_size:,} bytes")
