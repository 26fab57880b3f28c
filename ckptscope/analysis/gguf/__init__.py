"""Predicted llama.cpp GGUF files: which type each tensor gets and how many bytes the file has.

``estimate_gguf(tensors, config, ftype="Q4_K_M", rules="legacy", imatrix=False, tokenizer=None)`` ->
:class:`GGUFEstimate`. The pieces: ``types`` (ggml block table), ``mapping`` (HF -> GGUF tensors), ``recipe``
(llama-quantize's type choice), ``container`` (header, metadata, tensor infos, alignment).
"""

from __future__ import annotations

import math

from dataclasses import dataclass, field

from .container import ALIGNMENT, ContainerSize, arch_kvs, container_size, general_kvs, pad, tokenizer_kvs
from .container import KV
from .mapping import GGUFLayout, _with_class_defaults, map_tensors
from .recipe import RULES, choose_types
from .types import FTYPES, TYPES, ftype_id, nbytes, normalize_ftype

__all__ = ["estimate_gguf", "GGUFEstimate", "TensorEstimate", "normalize_ftype", "FTYPES", "RULES", "map_tensors"]


@dataclass
class TensorEstimate:
    name: str
    ne: tuple[int, ...]
    type: str  #: ggml type name ("Q4_K"); ``ggml_name`` gives llama.cpp's spelling ("q4_K")
    nbytes: int  #: bytes of data, without the alignment padding
    component: str
    fallback_from: str | None = None

    @property
    def ggml_name(self) -> str:
        return TYPES[self.type].ggml_name

    @property
    def numel(self) -> int:
        return math.prod(self.ne)


@dataclass
class GGUFEstimate:
    ftype: str
    rules: str
    imatrix: bool
    arch: str
    total_bytes: int  #: the whole file
    metadata_bytes: int  #: header + KVs + tensor infos + padding to the data section
    data_bytes: int  #: tensor data including the per-tensor alignment padding
    parameters: int
    tensors: list[TensorEstimate]
    by_component: dict[str, dict]
    by_type: dict[str, dict]
    container: ContainerSize
    dropped: dict[str, int] = field(default_factory=dict)
    dropped_params: int = 0
    assumptions: list[str] = field(default_factory=list)
    mla_layout: str | None = None

    @property
    def bpw(self) -> float:
        """Bits per weight of the whole file (llama.cpp's ``file size * 8 / n_params``)."""
        return 8.0 * self.total_bytes / self.parameters if self.parameters else 0.0

    def to_dict(self, with_tensors: bool = False) -> dict:
        d = {"ftype": self.ftype, "rules": self.rules, "imatrix": self.imatrix, "arch": self.arch,
             "bytes": self.total_bytes, "metadata_bytes": self.metadata_bytes, "data_bytes": self.data_bytes,
             "parameters": self.parameters, "bpw": round(self.bpw, 4), "n_tensors": len(self.tensors),
             "by_component": self.by_component, "by_type": self.by_type,
             "metadata": {"header": self.container.header, "kv": self.container.kv, "n_kv": self.container.n_kv,
                          "tokenizer_arrays": self.container.tokenizer_arrays,
                          "tensor_infos": self.container.tensor_infos, "padding": self.container.padding},
             "dropped": self.dropped, "dropped_parameters": self.dropped_params, "assumptions": self.assumptions}
        if self.mla_layout:
            d["mla_layout"] = self.mla_layout
        if with_tensors:
            d["tensors"] = [{"name": t.name, "ne": list(t.ne), "type": t.ggml_name, "bytes": t.nbytes,
                             "component": t.component, **({"fallback_from": TYPES[t.fallback_from].ggml_name}
                                                          if t.fallback_from else {})} for t in self.tensors]
        return d


def estimate_gguf(tensors, config, ftype: str = "Q4_K_M", rules: str = "legacy", imatrix: bool = False,
                  tokenizer=None, *, mla_layout: str | None = None, pure: bool = False,
                  output_type: str | None = None, token_embd_type: str | None = None,
                  general: dict | None = None, chat_template: str | None = None, tokenizer_pre: str | None = None,
                  special_ids: dict | None = None, tokenizer_flags: dict | None = None,
                  layout: GGUFLayout | None = None) -> GGUFEstimate:
    """Predict the llama.cpp GGUF file ``llama-quantize`` would write for these HF tensors.

    ``tensors``: records with ``name``, ``dtype``, ``shape`` (real headers or the architecture rules' inventory).
    ``rules``: "legacy" (2024-2025 files) or "head" (2026). ``mla_layout`` (DeepSeek only): "kv_b" (files converted
    before 2025-04-15: one ``attn_kv_b`` per layer) or "split" (``attn_k_b`` + ``attn_v_b``); default "kv_b" with
    legacy rules, "split" with head rules. The optional keyword arguments make the metadata exact where known.
    """
    ft = normalize_ftype(ftype)
    if ft is None:
        raise ValueError(f"unknown llama.cpp file type {ftype!r}")
    if rules not in RULES:
        raise ValueError(f"rules must be one of {RULES}, not {rules!r}")
    assumptions: list[str] = [f"llama.cpp {rules.upper()} quantization rules "
                              + ("(Apr 2024 - Mar 2026)" if rules == "legacy" else "(since Mar 2026)"),
                              "importance matrix: " + ("yes" if imatrix else "no")]
    if mla_layout is None:
        mla_layout = "kv_b" if rules == "legacy" else "split"
    if layout is None:
        n_vocab = getattr(tokenizer, "id_count", 0) if tokenizer is not None else 0
        layout = map_tensors(tensors, config, mla_layout=mla_layout, n_vocab=n_vocab if n_vocab > 0 else None)
    if layout.mla_layout:
        assumptions.append("DeepSeek MLA: " + ("attn_kv_b kept whole (converted before 2025-04-15)"
                                               if layout.mla_layout == "kv_b" else
                                               "kv_b split into attn_k_b/attn_v_b (converted since 2025-04-15)"))
    assumptions += layout.notes
    config = _with_class_defaults(config)  # Gemma 3's config.json leaves vocab and head counts to the class
    res = choose_types(layout, ft, rules=rules, imatrix=imatrix, pure=pure, output_type=output_type,
                       token_embd_type=token_embd_type)
    assumptions += res.notes
    out: list[TensorEstimate] = []
    by_comp: dict[str, dict] = {}
    by_type: dict[str, dict] = {}
    data = 0
    params = 0
    for ch in res.choices:
        t = ch.tensor
        nb = nbytes(TYPES[ch.type], t.ne)
        te = TensorEstimate(t.name, t.ne, ch.type, nb, t.component, ch.fallback_from)
        out.append(te)
        n = te.numel
        params += n
        data += pad(nb)
        c = by_comp.setdefault(t.component, {"parameters": 0, "bytes": 0, "tensors": 0, "types": {}})
        c["parameters"] += n
        c["bytes"] += nb
        c["tensors"] += 1
        c["types"][te.ggml_name] = c["types"].get(te.ggml_name, 0) + 1
        b = by_type.setdefault(te.ggml_name, {"tensors": 0, "parameters": 0, "bytes": 0})
        b["tensors"] += 1
        b["parameters"] += n
        b["bytes"] += nb
        if ch.note:
            assumptions.append(f"{t.name}: {ch.note}")
    fb = [t for t in out if t.fallback_from]
    if fb:
        kinds = sorted({f"{TYPES[t.fallback_from].ggml_name}->{t.ggml_name}" for t in fb})
        assumptions.append(f"{len(fb)} tensors fall back to a 32-block type (row not a multiple of 256): "
                           + ", ".join(kinds))
    kvs, est = general_kvs(config, layout.arch, params, general)
    kvs += arch_kvs(config, layout)
    tk, est2 = tokenizer_kvs(config, tokenizer, pre=tokenizer_pre, chat_template=chat_template,
                             special_ids=special_ids, flags=tokenizer_flags)
    kvs += tk
    kvs += [KV("general.file_type", "u32", ftype_id(ft)), KV("general.quantization_version", "u32", 2)]
    if imatrix:
        kvs += [KV("quantize.imatrix.file", "str", "x" * 24), KV("quantize.imatrix.dataset", "str", "x" * 24),
                KV("quantize.imatrix.entries_count", "i32", 0), KV("quantize.imatrix.chunks_count", "i32", 0)]
        est.append("quantize.imatrix.* strings assumed 24 bytes each")
    cont = container_size([(t.name, t.n_dims) for t in layout.tensors], kvs, est + est2)
    assumptions += cont.estimated
    assumptions.append(f"GGUF v3, {ALIGNMENT}-byte alignment, every tensor padded to {ALIGNMENT} bytes")
    return GGUFEstimate(ftype=ft, rules=rules, imatrix=imatrix, arch=layout.arch,
                        total_bytes=cont.total + data, metadata_bytes=cont.total, data_bytes=data,
                        parameters=params, tensors=out, by_component=by_comp, by_type=by_type, container=cont,
                        dropped=layout.dropped, dropped_params=layout.dropped_params, assumptions=assumptions,
                        mla_layout=layout.mla_layout)
