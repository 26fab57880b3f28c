"""The Python API: ``inspect(path_or_id) -> Report``. The CLI is a thin layer over these functions."""

from __future__ import annotations

from .checkpoint import Checkpoint, load_checkpoint
from .report import Finding, Report
from .sources import open_source


def open_checkpoint(spec: str, *, revision: str | None = None, token: str | None = None,
                    offline: bool | None = None, strict: bool = True, tokenizer: bool = True,
                    quiet: bool = True, variant: str | None = None, catalog: bool = False,
                    timeout: float | None = None) -> Checkpoint:
    """Open ``spec`` (folder, .safetensors file, snapshot file or Hub repo id) and read its metadata.
    ``catalog``: a Hub repo id from the bundled catalog (reconstructed headers, said so), no network."""
    source = open_source(spec, revision=revision, token=token, offline=offline, quiet=quiet, catalog=catalog,
                         timeout=timeout)
    return load_checkpoint(source, strict=strict, tokenizer=tokenizer, variant=variant)


def inspect(spec: str, **kwargs) -> Report:
    """Everything ckptscope knows about a checkpoint, from metadata alone."""
    return build_report(open_checkpoint(spec, **kwargs))


def _model_section(ck: Checkpoint) -> dict:
    c = ck.config
    if c is None:
        return {"architecture": None, "model_type": None, "config": False}
    d = {
        "architecture": c.architecture,
        "model_type": c.model_type,
        "config": True,
        "hidden_size": c.hidden_size,
        "num_hidden_layers": c.num_hidden_layers,
        "num_attention_heads": c.num_attention_heads,
        "num_key_value_heads": c.num_key_value_heads,
        "head_dim": c.head_dim,
        "intermediate_size": c.intermediate_size,
        "vocab_size": c.vocab_size,
        "max_position_embeddings": c.max_position_embeddings,
        "tie_word_embeddings": c.tie_word_embeddings,
        "torch_dtype": c.dtype,
    }
    if c.is_moe:
        d.update(num_experts=c.num_experts, num_experts_per_tok=c.num_experts_per_tok,
                 n_shared_experts=c.n_shared_experts, moe_intermediate_size=c.moe_intermediate_size)
    if c.num_nextn_predict_layers:
        d["num_nextn_predict_layers"] = c.num_nextn_predict_layers
    if c.quantization_config:
        d["quantization"] = c.quantization_config
    if c.text_key:
        d["text_config_key"] = c.text_key
    return d


def build_report(ck: Checkpoint) -> Report:
    from .analysis.breakdown import summarize

    files = []
    hdr = {h.file: h for h in ck.headers + ck.module_headers}
    for name, size in sorted(ck.files.items()):
        ent = {"name": name, "size": size}
        h = hdr.get(name)
        if h is not None:
            ent.update(kind="safetensors", header_bytes=8 + h.header_len, tensors=len(h.tensors),
                       data_bytes=sum(t.nbytes for t in h.tensors))
        files.append(ent)
    if ck.gguf is not None:
        _gguf_files(ck, files)
    notes = list(ck.source.notes) + list(ck.notes)
    findings: list[Finding] = []
    basis = "headers"
    inventory: list = []
    if ck.has_weights:
        s = summarize(ck.all_tensors(), ck.config, factors=ck.packed_factors)
    else:
        basis = "config"
        s, inventory = _config_only(ck, notes)
    by_bytes = s["bytes"]
    by_bytes["files_total"] = sum(v or 0 for n, v in ck.files.items() if n in hdr)
    by_bytes["header_total"] = sum(8 + h.header_len for h in ck.headers + ck.module_headers if h.header_len)
    if ck.gguf is not None:
        by_bytes["files_total"] = sum(p.file_size or 0 for p in ck.gguf.parts)
        by_bytes["header_total"] = ck.gguf.header_bytes
    if ck.index is not None:
        by_bytes["index_total_size"] = ck.index.total_size
        if ck.index.total_size is not None and ck.index.total_size != by_bytes["total"] and (
                ck.has_weights or by_bytes["total"]):
            held = "the shards hold" if ck.has_weights else "config.json predicts"
            findings.append(Finding("IX006", "warning",
                                    f"metadata.total_size is {ck.index.total_size:,} but {held} "
                                    f"{by_bytes['total']:,} bytes of tensor data", ck.index.file))
        if ck.index_only and s["tensors"]["count"]:
            names = set(ck.index.weight_map)
            predicted = {t.name for t in inventory}
            if predicted != names:
                only_i, only_p = sorted(names - predicted), sorted(predicted - names)
                eg = (f"e.g. {only_i[0]!r} is in the index only" if only_i else f"e.g. {only_p[0]!r} is predicted only")
                findings.append(Finding("RC000", "warning",
                                        f"the index lists {len(only_i):,} tensors config.json does not predict and "
                                        f"misses {len(only_p):,} it predicts; {eg}", ck.index.file))
            notes.append(f"index: {len(names):,} tensors, total_size {ck.index.total_size:,} bytes; prediction: "
                         f"{s['tensors']['count']:,} tensors, {by_bytes['total']:,} bytes"
                         if ck.index.total_size is not None else
                         f"index: {len(names):,} tensors; prediction: {s['tensors']['count']:,} tensors")
    if ck.tokenizer_note:
        notes.append(ck.tokenizer_note)
    for p in ck.problems:
        findings.append(Finding(p.code, "error", p.message, p.file, p.tensor))
    report = Report(
        source={**ck.source.describe(), "weights": [h.file for h in ck.headers + ck.module_headers] + (
            [p.file for p in ck.gguf.parts] if ck.gguf is not None else []), "format": ck.format},
        model=_model_section(ck),
        parameters=s["parameters"],
        bytes=by_bytes,
        tensors=s["tensors"],
        files=files,
        by_layer=s["by_layer"],
        tokenizer=ck.tokenizer.to_dict() if ck.tokenizer else None,
        findings=findings,
        notes=notes,
        basis=basis,
    )
    for stage in _stages(ck):
        stage(ck, report)
    return report


def _gguf_files(ck: Checkpoint, files: list[dict]) -> None:
    """GGUF files in the file list: header bytes and tensor counts, like safetensors files."""
    parts = {p.file: p for p in ck.gguf.parts}
    for ent in files:
        p = parts.get(ent["name"])
        if p is not None:
            ent.update(kind="gguf", header_bytes=p.data_offset if p.tensors else p.header_bytes,
                       tensors=len(p.tensors), data_bytes=p.tensor_bytes)


def _config_only(ck: Checkpoint, notes: list[str]) -> tuple[dict, list]:
    """The breakdown of the tensors config.json predicts (and the prediction), when there are no headers."""
    from .analysis.breakdown import summarize

    predict = _predictor()
    if ck.config is not None and predict is not None:
        inv = predict(ck.config)
        if inv is not None:
            notes.append("no safetensors weights here: every number is predicted from config.json alone")
            return summarize(inv, ck.config), inv
        try:
            from .analysis.arch import estimate_inventory
        except ImportError:
            estimate_inventory = None
        inv, basis, why = estimate_inventory(ck.config) if estimate_inventory else (None, None, "")
        if inv:
            notes.append(f"no safetensors weights and no architecture rules for {ck.config.architecture}: every "
                         f"number is a {basis} estimate from config.json ({why})"
                         + ("; APPROXIMATE" if basis == "approximate" else ""))
            return summarize(inv, ck.config), inv
    if ck.config is None:
        notes.append("no config.json and no safetensors weights: nothing to count")
    else:
        notes.append(f"no safetensors weights and no architecture rules for {ck.config.architecture}: "
                     "the numbers come from config.json alone and cannot be computed")
    return summarize([], ck.config), []


def _predictor():
    """The architecture calculator's ``predict_inventory(config)``, when installed (see analysis.arch)."""
    try:
        from .analysis.arch import predict_inventory
    except ImportError:
        return None
    return predict_inventory


# Later stages add sections to the report: each module exposes ``report_stage(ck, report)``.
STAGE_MODULES = ("ckptscope.analysis.arch", "ckptscope.analysis.quant", "ckptscope.kinds")


# A GGUF checkpoint has llama.cpp's tensor names: the HF architecture rules do not apply; its own stage does.
GGUF_STAGE_MODULES = ("ckptscope.analysis.gguf.stage",)


def _stages(ck: Checkpoint | None = None):
    import importlib

    for name in (GGUF_STAGE_MODULES if ck is not None and ck.gguf is not None else STAGE_MODULES):
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        fn = getattr(mod, "report_stage", None)
        if fn is not None:
            yield fn
