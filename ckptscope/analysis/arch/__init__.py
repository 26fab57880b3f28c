"""Architecture rules: predict every tensor of a checkpoint from config.json, and hold it against the headers.

Public API (other parts of ckptscope code against exactly this):

- :class:`ExpectedTensor` — name, dtype, shape, component (classify constants), note; ``numel``, ``nbytes``
- :func:`family_name` — the rules that apply ("llama", "deepseek_v3", ...), None when there are none
- :func:`predict_inventory` — the tensors a real Hub checkpoint of this config holds, in save order
- :func:`reconcile` -> :class:`Reconciliation` of :class:`ReconItem` (exact / shape_mismatch / dtype_mismatch /
  unexpected / missing)
- :func:`tokenizer_check` — tokenizer ids vs vocab_size vs embedding / LM-head rows
- :func:`active_parameters` — parameters used per token (dense + shared + top-k routed), MTP apart
- :func:`report_stage` — adds the "architecture", "reconciliation" and "tokenizer_check" report sections

Each family is one small module in ``families/`` (see ``engine.py`` for the format).
"""

from __future__ import annotations

from ...readers.config import ModelConfig
from .engine import ExpectedTensor, PredictionError, build
from .fallback import estimate_inventory
from .families import FAMILIES, module_for, resolve
from .reconcile import ReconItem, Reconciliation, reconcile
from .stage import active_parameters, report_stage, tokenizer_check

__all__ = ["ExpectedTensor", "PredictionError", "estimate_inventory", "layer_kinds", "ReconItem", "Reconciliation", "active_parameters",
           "family_name", "infer_layout", "predict_inventory", "reconcile", "report_stage", "supported_model_types",
           "tokenizer_check", "try_predict"]


def supported_model_types() -> list[str]:
    return sorted(FAMILIES)


def family_name(config: ModelConfig | None) -> str | None:
    """The family whose rules apply (dispatched on ``architectures``, then ``model_type``, then aliases), or None."""
    if config is None:
        return None
    return resolve(config.architectures, config.model_type)


def with_defaults(config: ModelConfig, defaults: dict) -> ModelConfig:
    """The config with transformers' defaults for the fields it leaves out (config.json files store only the
    fields that differ from the class defaults). A field given under any of its aliases counts as given."""
    if not defaults:
        return config
    from ...readers.config import ALIASES, from_dict

    raw = config.raw
    add = {}
    for k, v in defaults.items():
        names = next((a for a in ALIASES.values() if k in a), (k,))
        if not any(n in raw for n in names) and not (config.text_key is None and any(n in config.full for n in names)):
            add[k] = v
    if not add:
        return config
    full = dict(config.full)
    if config.text_key:
        full[config.text_key] = {**add, **raw}
    else:
        full = {**add, **full}
    return from_dict(full, config.file)


def _family(config: ModelConfig):
    return module_for(family_name(config))


def infer_layout(config: ModelConfig, names) -> dict | None:
    """Layout options (prefixes, legacy buffers, optional heads, MTP) read off the real tensor names.

    Only choices a config.json cannot settle are inferred; shapes and dtypes are still predicted from the config.
    """
    fam = _family(config)
    if fam is None:
        return None
    f = getattr(fam, "layout_from_names", None)
    return f(config, list(names)) if f else None


_LAST: list = [None, None, None]  #: (config, layout key, result): inspect predicts twice for the same config


def try_predict(config: ModelConfig, layout: dict | None = None) -> tuple[list[ExpectedTensor] | None, str | None]:
    """(inventory, None), or (None, reason) when no rules exist or the config lacks what they need."""
    key = repr(sorted((layout or {}).items()))
    if _LAST[0] is config and _LAST[1] == key:
        inv, reason = _LAST[2]
        return (list(inv) if inv is not None else None), reason
    result = _try_predict(config, layout)
    _LAST[:] = [config, key, result]
    return (list(result[0]) if result[0] is not None else None), result[1]


def _try_predict(config, layout):
    key = family_name(config) if config is not None else None
    fam = module_for(key)
    if fam is None:
        what = config.architecture if config is not None else "a checkpoint without config.json"
        return None, f"no architecture rules for {what}"
    try:
        config = with_defaults(config, getattr(fam, "DEFAULTS", None) or {})
        lay = dict(getattr(fam, "default_layout", lambda c: {})(config))
        if layout:
            lay.update(layout)
        return build(fam, config, lay, key), None
    except PredictionError as e:
        return None, f"{key} rules cannot predict this config: {e}"
    except (TypeError, ValueError, KeyError, AttributeError, ZeroDivisionError) as e:  # a malformed field
        return None, f"{key} rules cannot predict this config: malformed field ({type(e).__name__}: {e})"


def predict_inventory(config: ModelConfig, layout: dict | None = None) -> list[ExpectedTensor] | None:
    """Every tensor a real Hub checkpoint of this config holds (names, shapes, dtypes, components), in save
    order; None when there are no rules for the family or the config lacks a needed field.

    ``layout`` overrides choices config.json cannot settle (see :func:`infer_layout`), e.g. ``{"mtp": False}``
    for DeepSeek without its MTP layer, ``{"prefix": True}`` for GPT-2 saved by modern transformers.
    """
    return try_predict(config, layout)[0]


def layer_kinds(config: ModelConfig | None) -> dict | None:
    """Per-layer facts for the memory planner, from the family rules (None without rules or config):

    ``{"family", "layers": [kind per decoder layer], "counts": {kind: n}, "state": {kind: {...shapes}}}``, where a
    kind is ``attention`` (keeps K/V per token), ``mamba`` / ``mamba2`` / ``gated_deltanet`` / ``lightning`` /
    ``short_conv`` (LFM2) (a state of
    fixed size per sequence: ``state[kind]`` gives the conv and ssm/recurrent shapes in elements),
    ``attention+mamba2`` (Falcon-H1: both in one layer) or ``none`` (no token mixer: Nemotron-H MLP/MoE blocks,
    DeciLM no-op or linear-replaced attention).
    """
    key = family_name(config)
    fam = module_for(key)
    if fam is None:
        return None
    from .engine import Dims
    from .mixers import state_shapes
    from .schedule import block_pattern, mixer_kinds

    c = with_defaults(config, getattr(fam, "DEFAULTS", None) or {})
    d = Dims(c, getattr(fam, "TIE_DEFAULT", False), key)
    L = d.L if isinstance(d.L, int) and 0 < d.L <= 100_000 else 0
    spec = getattr(fam, "spec", None)
    if key == "nemotron_h":
        plan = block_pattern(d) or []
        kinds = [m if m != "none" else "none" for m, _ in plan[:100_000]]
    elif key == "falcon_h1":
        kinds = ["attention+mamba2"] * L
    elif key in ("mamba", "mamba2"):
        kinds = [key] * L
    elif key == "granitemoehybrid":
        kinds = mixer_kinds(d, "mamba2") if L else []
    elif key == "nemotron-nas":
        blocks = c.get("block_configs") if isinstance(c.get("block_configs"), list) else []
        kinds = ["none" if (b.get("attention") or {}).get("no_op") or (b.get("attention") or {}).get(
            "replace_with_linear") else "attention" for b in blocks[:100_000] if isinstance(b, dict)]
    elif key in ("lfm2", "lfm2_moe") and L:  # LFM2: gated short-conv layers keep a fixed conv state
        from .families.liquid import layer_types as lfm2_layer_types

        kinds = ["short_conv" if t == "conv" else "attention" for t in lfm2_layer_types(d)]
    elif callable(getattr(fam, "layer_kinds", None)) and L:  # a family that names its own layer kinds
        kinds = list(fam.layer_kinds(d))
    elif spec is not None and getattr(spec, "hybrid", False) and L:
        kinds = mixer_kinds(d, spec.recurrent)
    else:
        kinds = ["attention"] * L
    counts: dict[str, int] = {}
    for k in kinds:
        counts[k] = counts.get(k, 0) + 1
    state = {}
    for k in counts:
        base = k.split("+")[-1]
        own = getattr(fam, "state_shapes", None)  # a family's own recurrent kinds (families/text_more.py)
        if base in ("mamba", "mamba2", "gated_deltanet", "lightning", "short_conv") or (
                base not in ("attention", "none") and callable(own)):
            try:
                state[base] = own(d, base) if callable(own) and base not in (
                    "mamba", "mamba2", "gated_deltanet", "lightning", "short_conv") else state_shapes(d, base)
            except PredictionError:
                pass
    out = {"family": key, "layers": kinds, "counts": counts, "state": state}
    rows = getattr(fam, "kv_rows", None)  # a family's own per-layer cache rows (families/deepseek_v4.py)
    if callable(rows) and L:
        try:
            out["kv_rows"] = rows(d)
        except PredictionError:
            pass
    kvs = getattr(fam, "kv_shapes", None)  # per-layer (KV heads, K dim, V dim) where they vary (text_more.py)
    if callable(kvs) and L:
        try:
            out["kv_shapes"] = list(kvs(d))
        except PredictionError:
            pass
    return out
