"""Independent oracle: the tensor inventory `save_pretrained` would write for a config.json.

transformers builds the model on the meta device from the real config (no memory for weights), then we run the
same steps `PreTrainedModel.save_pretrained` runs on the state dict before writing it:

  1. ``model.state_dict()``            (non-persistent buffers are not in it)
  2. drop ``model._keys_to_ignore_on_save``
  3. ``remove_tied_weights_from_state_dict`` (transformers' own function: tied weights are saved once)
  4. ``revert_weight_conversion``      (transformers' own function: load-time conversions such as fused MoE
                                         experts are turned back into the original per-expert names/shapes)

The dtype is the config's ``torch_dtype``/``dtype`` (float32 when absent), applied the way ``from_pretrained`` would
(``_from_config(dtype=...)`` plus the model's own keep-in-fp32 plan); every tensor's dtype is read back from the meta
tensor, so integer buffers keep their own dtype.

This is test tooling: ckptscope itself never imports torch or transformers.

Usage:
    python tools/oracle.py                      # all configs in fixtures/configs + the fixture checkpoints
    python tools/oracle.py path/to/config_dir   # one config, JSON to stdout
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
OUT_DIR = FIXTURES / "oracle"

# Fixture checkpoints whose config the oracle describes: output name -> config folder (relative to ROOT).
CHECKPOINT_CONFIGS = {
    "checkpoint__cogito-v1-preview-qwen-14b": "fixtures/checkpoints/github-cogito-v1-preview-qwen-14b",
    "checkpoint__reflection-llama-3.1-70b": "fixtures/checkpoints/github-reflection-llama-3.1-70b",
    "checkpoint__wizardlm-2-8x22b": "fixtures/checkpoints/github-wizardlm-2-8x22b",
    "checkpoint__granite-3.1-1b-a400m-instruct__commit-0a854d4-fp32-sharded":
        "fixtures/checkpoints/github-granite-3.1-1b-a400m-instruct/commit-0a854d4-fp32-sharded",
    "checkpoint__granite-3.1-1b-a400m-instruct__head-73154ee":
        "fixtures/checkpoints/github-granite-3.1-1b-a400m-instruct/head-73154ee",
    "checkpoint__all-minilm-l6-v2": "fixtures/checkpoints/pypi-all-minilm-l6-v2",
}

GZIP_ABOVE = 2_000_000  # bytes of JSON text

# Known, documented differences between what transformers saves and what the real Hub checkpoint holds.
# They are recorded, never faked: the oracle describes transformers' save_pretrained output only.
KNOWN_NOTES = {
    "deepseek_v3": [
        "Real Hub checkpoint (DeepSeek-V3/R1) is FP8 (F8_E4M3) with F32 `weight_scale_inv` block grids "
        "(quantization_config.weight_block_size) next to each quantized linear weight; from_config does not apply "
        "the quantizer, so the oracle lists plain weights in the config dtype and no scale tensors.",
        "Real Hub checkpoint stores num_nextn_predict_layers MTP layer(s) as model.layers.<num_hidden_layers>.* "
        "(with their own embed_tokens/shared_head copies, enorm/hnorm/eh_proj); transformers does not build them, "
        "so they are absent here.",
    ],
    "deepseek_v4": [
        "Real Hub checkpoints (DeepSeek-V4-Flash and its -0731 / DSpark re-releases) are written by DeepSeek, not "
        "transformers: DeepSeek's names without the `model.` prefix (embed.weight, layers.N.attn.kv_norm, "
        "hc_head_fn, ...), F8_E4M3 linears with F8_E8M0 `.scale` block grids, FP4 routed experts packed two per "
        "byte with per-32 `.scale` tensors (expert_dtype fp4), and the MTP layer(s) as mtp.N.*; from_config "
        "applies no quantizer and builds no MTP layer, so the oracle has none of that.",
    ],
    "gpt_oss": [
        "Real Hub checkpoint stores the MoE expert weights as MXFP4 (`*_blocks` U8 + `*_scales` U8) with BF16 "
        "elsewhere; from_config does not apply the quantizer, so the oracle lists dense expert tensors "
        "(gate_up_proj/down_proj and biases) in the config dtype.",
        "config.json has no torch_dtype/dtype: the oracle uses F32 (transformers' default), the real checkpoint is "
        "BF16 + MXFP4.",
    ],
    "gpt2": [
        "Many real GPT-2 checkpoints (openai-community/gpt2 included) also store the causal-mask buffers "
        "h.N.attn.bias (and sometimes h.N.attn.masked_bias); transformers 5.x does not save them.",
        "config.json has no torch_dtype: F32 (the real gpt2 checkpoint is F32 too).",
    ],
    "bert": [
        "Older real BERT checkpoints also store the buffer embeddings.position_ids (I64 [1, max_position_embeddings]); "
        "transformers 5.x registers it as non-persistent and does not save it.",
    ],
}


def _st_dtype(torch_dtype) -> str:
    import torch

    table = {
        torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
        torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
        torch.bool: "BOOL", torch.float8_e4m3fn: "F8_E4M3", torch.float8_e5m2: "F8_E5M2",
    }
    return table[torch_dtype]


def _config_dtype(raw: dict):
    """The dtype the checkpoint is saved in, from config.json (text config for multimodal), F32 when absent."""
    import torch

    name = raw.get("torch_dtype") or raw.get("dtype")
    for sub in ("text_config", "language_config"):
        if not name and isinstance(raw.get(sub), dict):
            name = raw[sub].get("torch_dtype") or raw[sub].get("dtype")
    if not name or name == "auto":
        return torch.float32, False
    return getattr(torch, name), True


def _model_class(architecture: str):
    import transformers

    cls = getattr(transformers, architecture, None)
    if cls is None:
        raise SystemExit(f"transformers {transformers.__version__} has no class {architecture}")
    return cls


def build_inventory(config_dir: str | Path) -> dict:
    """Build the model of ``config_dir/config.json`` on meta and return the oracle record (see module doc)."""
    if json.loads((Path(config_dir) / "config.json").read_text()).get("model_type") == "gemma3n":
        sys.path.insert(0, str(Path(__file__).resolve().parent))  # its vision tower is a timm model
        import timm_shim

        timm_shim.install()
    import torch
    import transformers
    from transformers import AutoConfig
    from transformers.core_model_loading import build_glob_alternation, revert_weight_conversion
    from transformers.modeling_utils import remove_tied_weights_from_state_dict

    config_dir = Path(config_dir).resolve()
    raw = json.loads((config_dir / "config.json").read_text())
    cfg = AutoConfig.from_pretrained(str(config_dir))
    architecture = (cfg.architectures or raw.get("architectures") or [None])[0]
    cls = _model_class(architecture)
    dtype, dtype_given = _config_dtype(raw)

    t0 = time.perf_counter()
    with torch.device("meta"):
        model = cls._from_config(cfg, dtype=dtype)
    build_s = time.perf_counter() - t0

    notes: list[str] = []
    # from_pretrained's keep-in-fp32 plan (same transformers code that builds it at load time).
    plan = model._get_dtype_plan(dtype)
    if plan:
        alt, by_group, _ = build_glob_alternation(list(plan.keys()))
        for name, p in list(model.named_parameters()):
            m = alt.search(name)
            if m is not None:
                p.data = p.data.to(plan[by_group[m.lastgroup]])
        notes.append(f"keep-in-fp32 plan applied: {sorted(plan)}")

    # === the save_pretrained steps ===
    state_dict = model.state_dict()
    n_state = len(state_dict)
    for key in model._keys_to_ignore_on_save or ():
        state_dict.pop(key, None)
    state_dict = remove_tied_weights_from_state_dict(state_dict, model)
    n_untied = len(state_dict)
    state_dict = revert_weight_conversion(model, state_dict)

    tensors = [[name, list(t.shape), _st_dtype(t.dtype)] for name, t in state_dict.items()]
    model_type = raw.get("model_type", "")
    notes.extend(KNOWN_NOTES.get(model_type, []))
    if not dtype_given and model_type not in ("gpt2", "gpt_oss"):
        notes.append("config.json has no torch_dtype/dtype: F32 assumed (transformers' default).")
    if n_untied != n_state:
        notes.append(f"{n_state - n_untied} tied/ignored tensor(s) dropped at save time.")
    if len(tensors) != n_untied:
        notes.append(f"weight-conversion revert: {n_untied} in-memory tensors -> {len(tensors)} saved tensors.")
    try:
        rel = str(config_dir.relative_to(ROOT) / "config.json")
    except ValueError:
        rel = str(config_dir / "config.json")
    return {
        "config": rel,
        "architecture": architecture,
        "model_type": model_type,
        "dtype": _st_dtype(dtype),
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__.split("+")[0],
        "notes": notes,
        "tensors": tensors,
    }


def dumps(record: dict) -> str:
    """Compact, diff-friendly JSON: one tensor per line."""
    head = {k: v for k, v in record.items() if k != "tensors"}
    lines = json.dumps(head, indent=1)[:-2]  # strip the closing "\n}"
    body = ",\n".join(json.dumps(t, separators=(",", ":")) for t in record["tensors"])
    return lines + ',\n "tensors": [\n' + body + "\n ]\n}\n"


def write(record: dict, stem: str, out_dir: Path = OUT_DIR) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    text = dumps(record)
    for old in (out_dir / f"{stem}.json", out_dir / f"{stem}.json.gz"):
        old.unlink(missing_ok=True)
    if len(text) > GZIP_ABOVE:
        path = out_dir / f"{stem}.json.gz"
        with open(path, "wb") as f:  # deterministic gzip: no name, mtime 0
            with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as gz:
                gz.write(text.encode())
    else:
        path = out_dir / f"{stem}.json"
        path.write_text(text)
    return path


def load(stem_or_path: str | Path) -> dict:
    """Read an oracle record (``.json`` or ``.json.gz``) by stem or path."""
    p = Path(stem_or_path)
    if not p.exists():
        for cand in (OUT_DIR / f"{p.name}.json", OUT_DIR / f"{p.name}.json.gz"):
            if cand.exists():
                p = cand
                break
    data = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
    return json.loads(data)


def all_targets() -> dict[str, Path]:
    targets = {p.name: p for p in sorted((FIXTURES / "configs").iterdir()) if (p / "config.json").exists()}
    targets.update({stem: ROOT / rel for stem, rel in CHECKPOINT_CONFIGS.items()})
    return targets


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("config_dirs", nargs="*", help="config folder(s); none = every fixture config")
    ap.add_argument("--only", help="regex on output stems (all-fixtures mode)")
    args = ap.parse_args(argv)
    if args.config_dirs:
        for d in args.config_dirs:
            sys.stdout.write(dumps(build_inventory(d)))
        return 0
    for stem, d in all_targets().items():
        if args.only and not re.search(args.only, stem):
            continue
        t0 = time.perf_counter()
        rec = build_inventory(d)
        path = write(rec, stem)
        print(f"{stem:70s} {len(rec['tensors']):6d} tensors  {time.perf_counter() - t0:6.1f}s  -> {path.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
