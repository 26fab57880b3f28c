"""Sentence Transformers models: ``modules.json`` lists the modules in order (``Transformer`` at the root or in
``0_Transformer/``, then ``Pooling``, ``Dense``, ``Normalize`` ...). Each module with weights keeps them in its own
folder (``2_Dense/model.safetensors``: ``linear.weight`` (out, in) and ``linear.bias``); all are counted in the
total. The embedding dimension is the last Dense's ``out_features``, else the pooled width; the maximum sequence
length comes from ``sentence_bert_config.json``, else the tokenizer's ``model_max_length``.
"""

from __future__ import annotations

from .common import finding, human, module_counts, read_json, read_module_headers

#: modules that save nothing (git keeps no empty folder, so their folder is absent on the Hub)
STATELESS = ("Normalize",)
POOL_MODES = ("pooling_mode_cls_token", "pooling_mode_mean_tokens", "pooling_mode_max_tokens",
              "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken")


def load(ck, source, strict: bool) -> None:
    files = ck.files
    mods = read_json(ck, source, "modules.json", strict, kind=list)
    if mods is None:
        return
    modules: dict[str, dict] = {}
    paths: dict[str, list[str]] = {}
    configs: dict[str, dict] = {}
    for m in mods[:1000]:
        if not isinstance(m, dict) or not isinstance(m.get("type"), str):
            continue
        path = m.get("path") if isinstance(m.get("path"), str) else ""
        path = path.strip("/")
        name = str(m.get("name", m.get("idx", len(modules))))
        cls = m["type"].rsplit(".", 1)[-1]
        ent = {"class": cls, "library": "sentence_transformers", "type": m["type"], "path": path}
        modules[name] = ent
        if path and f"{path}/config.json" in files:
            cfg = read_json(ck, source, f"{path}/config.json", strict)
            if cfg is not None:
                configs[name] = cfg
        if path:
            if cls not in STATELESS and not any(f.startswith(path + "/") or f == path for f in files):
                finding(ck, "KD003", f"modules.json lists module {name} ({cls}) at {path}/, which is not in the "
                                     "repository", "modules.json")
            st = sorted(f for f in files if f.startswith(path + "/") and f.count("/") == path.count("/") + 1
                        and f.endswith(".safetensors"))
            paths[name] = st
            if not st:
                pk = [f for f in files if f.startswith(path + "/") and f.endswith((".bin", ".pt", ".pth"))]
                if pk:
                    ent["weights"] = "pickle"
                    ck.notes.append(f"module {name} ({cls}): weights only in {', '.join(pk)}: not read, not counted")
                elif cls == "Dense":
                    finding(ck, "KD003", f"Dense module {name} has no weights in {path}/", f"{path}/")
    headers = read_module_headers(ck, source, [p for ps in paths.values() for p in ps], strict)
    ck.module_headers = headers
    by_file = {h.file: h for h in headers}
    dim = None
    dim_from = None
    for name, ent in modules.items():
        if not ent["path"]:
            ent.update(module_counts(ck.tensors, ck.config))
            if ck.config is not None:
                ent["model_type"] = ck.config.model_type
                if ck.config.hidden_size:
                    dim, dim_from = ck.config.hidden_size, "config.json hidden_size"
            continue
        tensors = [t for p in paths.get(name, []) for t in (by_file[p].tensors if p in by_file else [])]
        if tensors:
            ent.update(module_counts(tensors))
        else:
            ent.setdefault("parameters", 0)
        cfg = configs.get(name, {})
        if ent["class"] == "Transformer" and cfg:
            hs = cfg.get("hidden_size") or cfg.get("d_model")
            if isinstance(hs, int):
                dim, dim_from = hs, f"{ent['path']}/config.json hidden_size"
        if ent["class"] == "Pooling" and isinstance(cfg.get("word_embedding_dimension"), int):
            modes = sum(1 for k in POOL_MODES if cfg.get(k) is True) or 1
            dim, dim_from = cfg["word_embedding_dimension"] * modes, f"{ent['path']}/config.json ({modes} pooling mode(s))"
            ent["pooling"] = [k[len("pooling_mode_"):] for k in POOL_MODES if cfg.get(k) is True]
        if ent["class"] == "Dense":
            i, o = cfg.get("in_features"), cfg.get("out_features")
            ent.update(in_features=i, out_features=o, activation=cfg.get("activation_function"))
            w = next((t for t in tensors if t.name.endswith("linear.weight")), None)
            if w is not None and isinstance(i, int) and isinstance(o, int) and tuple(w.shape) != (o, i):
                finding(ck, "KD004", f"Dense module {name}: {w.name} is {list(w.shape)} but its config.json says "
                                     f"in_features {i}, out_features {o} (expected [{o}, {i}])", w.file, w.name)
            if isinstance(o, int):
                dim, dim_from = o, f"{ent['path']}/config.json out_features"
    seq, seq_from = _max_seq_length(ck, source)
    ck.kind_info["modules"] = modules
    ck.kind_info["embedding"] = {"dimension": dim, "dimension_from": dim_from, "max_seq_length": seq,
                                 "max_seq_length_from": seq_from}
    parts = ", ".join(f"{n} {e['class']}" + (f" {human(e['parameters'])}" if e.get("parameters") else "")
                      for n, e in modules.items())
    ck.kind_info["summary"] = (f"Sentence Transformers: {len(modules)} modules ({parts}); embedding dimension "
                               f"{dim if dim is not None else '?'}, max sequence length "
                               f"{seq if seq is not None else '?'}")


def _max_seq_length(ck, source) -> tuple[int | None, str | None]:
    files = ck.files
    for rel, key in (("sentence_bert_config.json", "max_seq_length"), ("tokenizer_config.json", "model_max_length")):
        if rel in files:
            obj = read_json(ck, source, rel, strict=False)
            v = obj.get(key) if obj else None
            if isinstance(v, int) and not isinstance(v, bool) and 0 < v < 10**9:
                return v, f"{rel} {key}"
    if ck.config is not None and ck.config.max_position_embeddings:
        return ck.config.max_position_embeddings, "config.json max_position_embeddings"
    return None, None
