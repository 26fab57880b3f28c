"""What an engine holds at run time: the tensors it loads (an engine profile may skip MTP layers or vision
towers), recast to the runtime dtype, plus the non-persistent buffers its modules register; and the linear
modules of one layer of each kind, read from the tensor names (fused qkv_proj / gate_up_proj included), for the
activation and LoRA terms. Nothing here is sized by a layer count read from a file: layers are grouped by kind.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ...dtypes import nbytes as dt_nbytes
from ...readers.config import ModelConfig
from ..classify import BUFFER, MTP, QUANT, TOWERS
from .weights import Rec, classify_cached

FLOAT_CODES = {"BF16": 2, "F16": 2, "F32": 4}
_LAYER = re.compile(r"^(.*?\.layers?\.)(\d+)\.(.*)$")


def loaded_tensors(tensors, config: ModelConfig | None, profile: dict) -> tuple[list, dict]:
    """Tensors the engine loads, and what it skips (parameter counts by reason)."""
    out = []
    skipped = {"mtp": 0, "vision": 0, "unloaded": 0}
    pats = [re.compile(p) for p in profile.get("unloaded_tensors", ())]
    for t in tensors:
        if any(p.search(t.name) for p in pats):
            skipped["unloaded"] += math.prod(t.shape)
            continue
        comp = classify_cached(t.name, config).component
        if comp == MTP and not profile["loads_mtp"]:
            skipped["mtp"] += math.prod(t.shape)
            continue
        if comp in TOWERS and not profile["loads_vision"]:
            skipped["vision"] += math.prod(t.shape)
            continue
        out.append(t)
    return out, skipped


FP8_CODES = {"F8_E4M3", "F8_E5M2"}


def recast(tensors, config: ModelConfig | None, dtype: str, dequantize: bool = False) -> list:
    """Float weights re-expressed in the runtime dtype. Quantized tensors and their scales keep their stored type
    (transformers keeps an FP8/MXFP4 checkpoint quantized on GPUs that support it), unless ``dequantize``: then
    FP8 weights are counted in ``dtype`` and their scale tensors dropped (a model built from the config, or
    loaded with dequantize=True, holds plain weights)."""
    out = []
    for t in tensors:
        comp = classify_cached(t.name, config).component
        if dequantize and t.dtype in FP8_CODES:
            out.append(Rec(t.name, dtype, tuple(t.shape)))
            continue
        if dequantize and comp == QUANT and t.name.endswith((".weight_scale_inv", ".weight_scale")):
            continue
        if t.dtype in FLOAT_CODES and t.dtype != dtype and classify_cached(t.name, config).component != QUANT:
            out.append(Rec(t.name, dtype, tuple(t.shape)))
        else:
            out.append(t)
    return out


def rotary_buffers(config: ModelConfig | None) -> tuple[int, str]:
    """Bytes of non-persistent buffers transformers 5.x registers: the rotary module's ``inv_freq`` and
    ``original_inv_freq`` (fp32, rotary_dim / 2 values each; modeling_llama.py LlamaRotaryEmbedding). GPT-2 in
    5.x registers no causal-mask ``attn.bias`` (modeling_gpt2.py lists it in _keys_to_ignore_on_load_unexpected)."""
    sizes = rotary_buffer_sizes(config)
    if not sizes:
        return 0, ""
    b = sum(sizes)
    return b, f"rotary inv_freq + original_inv_freq buffers, fp32: {b:,} bytes"


def rotary_buffer_sizes(config: ModelConfig | None) -> list[int]:
    """Bytes of each rotary buffer tensor (see rotary_buffers)."""
    if config is None:
        return []
    mt = (config.model_type or "").lower()
    if mt in ("gpt2", "bert", "t5", "mt5", "opt", "gpt_bigcode", "roberta", "distilbert"):
        return []
    H = config.num_attention_heads or 0
    hd = config.head_dim or ((config.hidden_size or 0) // H if H else 0)
    if config.is_mla:
        hd = config.qk_rope_head_dim or hd
    prf = config.get("partial_rotary_factor")
    if isinstance(prf, (int, float)) and 0 < prf < 1:
        hd = int(hd * prf)
    n_rot = 2 if mt.startswith("gemma3") else 1  # Gemma-3: a global and a local rotary embedding
    return [(hd // 2) * 4] * (2 * n_rot) if hd // 2 else []


def cos_sin_cache_sizes(config: ModelConfig | None, value_bytes: int) -> list[int]:
    """Bytes of each rotary cos/sin table a serving engine keeps on the GPU (vLLM rotary_embedding: one
    ``cos_sin_cache`` [max_position_embeddings, rotary_dim] in the model dtype per distinct rotary configuration,
    shared by every layer through get_rope's cache; Gemma-3 has a local and a global one)."""
    if config is None:
        return []
    mt = (config.model_type or "").lower()
    if mt in ("gpt2", "bert", "t5", "mt5", "opt", "gpt_bigcode", "roberta", "distilbert", "bloom", "falcon_mamba",
              "mamba", "mamba2"):
        return []
    H = config.num_attention_heads or 0
    hd = config.head_dim or ((config.hidden_size or 0) // H if H else 0)
    if config.is_mla:
        hd = config.qk_rope_head_dim or hd
    prf = config.get("partial_rotary_factor")
    if isinstance(prf, (int, float)) and 0 < prf < 1:
        hd = int(hd * prf)
    mp = config.max_position_embeddings or 0
    if not hd or not mp:
        return []
    rows = _cos_sin_rows(config.rope_scaling, mp)
    if mt.startswith("gemma3"):  # global layers take rope_scaling, the local (sliding) ones do not
        return [rows * hd * value_bytes, mp * hd * value_bytes]
    return [rows * hd * value_bytes]


def _cos_sin_rows(rs: dict | None, mp: int) -> int:
    """Rows of vLLM's cos/sin table for a rope_scaling (vllm/model_executor/layers/rotary_embedding): linear and
    dynamic-NTK scaling build max_position x factor rows, YaRN original_max_position x factor, LongRoPE a short
    (original) and a long (max_position) table; llama3 scaling and none keep max_position rows."""
    if not isinstance(rs, dict):
        return mp
    kind = str(rs.get("rope_type") or rs.get("type") or "").lower()
    f = rs.get("factor")
    f = f if isinstance(f, (int, float)) and 1 <= f <= 1024 else 1
    orig = rs.get("original_max_position_embeddings")
    orig = orig if isinstance(orig, int) and 0 < orig <= mp else None
    if kind in ("linear", "dynamic"):
        return int(mp * f)
    if kind in ("yarn", "deepseek_yarn"):
        return int((orig or mp) * f)
    if kind in ("longrope", "su"):
        return mp + (orig or 0)
    return mp


def block_rounding(sizes, block: int) -> int:
    """Bytes the allocator adds by rounding each of ``sizes`` up to a multiple of ``block`` (CUDACachingAllocator
    round_size: kMinBlockSize 512; a request below 512 bytes takes a whole 512-byte block)."""
    if not block:
        return 0
    return sum((-int(n)) % block for n in sizes if n > 0)


def tensor_sizes(tensors, bytes_per_value: int | None = None) -> list[int]:
    """Bytes of each tensor (in its own dtype, or ``bytes_per_value`` per element: gradients, optimizer state)."""
    if bytes_per_value is None:
        return [weight_bytes([t]) for t in tensors]
    return [math.prod(t.shape) * bytes_per_value for t in tensors]


@dataclass
class Linear:
    name: str  #: short module name (q_proj, qkv_proj, gate_up_proj, down_proj, ...)
    inp: int
    out: int


@dataclass
class LayerKind:
    kind: str  #: dense | moe
    count: int
    linears: list[Linear]


def layer_linears(tensors, config: ModelConfig | None) -> list[LayerKind]:
    """The 2-D linear weights of one representative layer of each kind (dense MLP / MoE), with how many layers
    share that kind. Expert matrices (per-expert 2-D or fused 3-D) are left out: they are not nn.Linear modules
    in transformers 5.x."""
    by_layer: dict[int, list] = {}
    for t in tensors:
        m = _LAYER.match(t.name)
        if not m or len(t.shape) != 2 or not t.name.endswith(".weight"):
            continue
        comp = classify_cached(t.name, config).component
        if comp in (MTP, QUANT, BUFFER) or comp in TOWERS:
            continue
        rest = m.group(3)
        if ".experts." in rest or "norm" in rest or rest.startswith(("mlp.gate.", "block_sparse_moe.gate.")):
            continue
        by_layer.setdefault(int(m.group(2)), []).append(t)
    kinds: dict[tuple, LayerKind] = {}
    for i, ts in by_layer.items():
        kind = "moe" if is_moe_layer(config, i) else "dense"
        lins = tuple(sorted((t.name.rsplit(".", 2)[-2], int(t.shape[1]), int(t.shape[0])) for t in ts))
        key = (kind, lins)
        if key in kinds:
            kinds[key].count += 1
        else:
            kinds[key] = LayerKind(kind, 1, [Linear(n, i_, o) for n, i_, o in lins])
    return list(kinds.values())


def is_moe_layer(c: ModelConfig | None, i: int) -> bool:
    """Layer ``i`` has a sparse MoE block (first_k_dense_replace, moe_layer_freq / decoder_sparse_step,
    mlp_only_layers), decided per index: no per-layer table is built."""
    if c is None or not c.is_moe:
        return False
    freq = c.get("moe_layer_freq") or c.get("decoder_sparse_step") or 1
    only = c.get("mlp_only_layers") or []
    return i >= (c.first_k_dense_replace or 0) and (i + 1) % freq == 0 and i not in only


def weight_bytes(tensors) -> int:
    n = 0
    for t in tensors:
        nb = getattr(t, "nbytes", None)
        n += nb if isinstance(nb, int) else dt_nbytes(t.dtype, math.prod(t.shape))
    return n
