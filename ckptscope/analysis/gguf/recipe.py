"""llama-quantize's per-tensor type choice (``llama_tensor_get_type``), docs/gguf-size-rules.md §2.

Two rule versions are selectable: ``"legacy"`` (llama.cpp April 2024 - March 2026, what the 2024-2025 published
files were made with) and ``"head"`` (since 2026-03-10: ``attn_qkv`` and ``attn_kv_b`` are treated like ``attn_v``,
Q2_K/Q3_K fall back to Q4_0 instead of IQ4_NL). The branch names R1..R11 follow the spec.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .mapping import GGUFLayout, GGUFTensor
from .types import TYPES, default_type

RULES = ("legacy", "head")

VERY_LOW = {"IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ2_S", "IQ2_M", "IQ1_M"}
NEEDS_IMATRIX = {"IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ1_S", "IQ1_M", "Q2_K_S"}

# Substrings that keep a tensor out of quantization (tensor_allows_quantization), besides the 2-D / .weight tests.
_NEVER = ("_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "ssm_conv1d", "shortconv.conv.weight",
          "time_mix_first", "time_mix_w0", "time_mix_w1", "time_mix_w2", "time_mix_v0", "time_mix_v1", "time_mix_v2",
          "time_mix_a0", "time_mix_a1", "time_mix_a2", "time_mix_g1", "time_mix_g2", "time_mix_decay_w1",
          "time_mix_decay_w2", "time_mix_lerp_fused", "attn_rel_b.weight", "altup", "laurel", "per_layer_model_proj",
          ".position_embd", ".patch_embd", ".patch_merger", ".rel_pos")
_NEVER_EXACT = ("position_embd.weight", "token_types.weight")
_HEAD_ONLY_NEVER = ("indexer.k_proj", "indexer.q_proj")

FALLBACK_LEGACY = {"IQ1_S": "IQ4_NL", "IQ1_M": "IQ4_NL", "IQ2_XXS": "IQ4_NL", "IQ2_XS": "IQ4_NL", "IQ2_S": "IQ4_NL",
                   "IQ3_XXS": "IQ4_NL", "IQ3_S": "IQ4_NL", "IQ4_XS": "IQ4_NL", "Q2_K": "IQ4_NL", "Q3_K": "IQ4_NL",
                   "TQ1_0": "Q4_0", "TQ2_0": "Q4_0", "Q2_0": "Q4_0", "Q4_K": "Q5_0", "Q5_K": "Q5_1", "Q6_K": "Q8_0"}
FALLBACK_HEAD = dict(FALLBACK_LEGACY, Q2_K="Q4_0", Q3_K="Q4_0")

_BLK = re.compile(r"^blk\.(\d+)\.")
_ANY_BLK = re.compile(r"(?:^|\.)blk\.(\d+)\.")


@dataclass
class TypeChoice:
    tensor: GGUFTensor
    type: str  #: ggml type name, e.g. "Q4_K"
    quantized: bool  #: went through the recipe (False: kept the converter's type)
    fallback_from: str | None = None  #: the recipe's choice when a fallback replaced it
    note: str | None = None


@dataclass
class RecipeResult:
    choices: list[TypeChoice]
    notes: list[str] = field(default_factory=list)


def allows_quantization(name: str, n_dims: int, rules: str = "legacy", leave_output: bool = False) -> bool:
    if n_dims < 2 or not name.endswith("weight"):
        return False
    if any(s in name for s in _NEVER) or name in _NEVER_EXACT:
        return False
    if rules == "head" and any(s in name for s in _HEAD_ONLY_NEVER):
        return False
    if leave_output and name == "output.weight":
        return False
    return True


def use_more_bits(i: int, n: int) -> bool:
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def _sort_key(name: str):
    m = _BLK.match(name)
    return (int(m.group(1)) if m else -1, name)


def _category(name: str, rules: str) -> str:
    if name == "output.weight":
        return "OUTPUT"
    if name in ("token_embd.weight", "per_layer_token_embd.weight"):
        return "TOKEN_EMBD"
    for sub, cat in (("attn_qkv.weight", "QKV"), ("attn_kv_b.weight", "KV_B"), ("attn_v.weight", "V"),
                     ("attn_k.weight", "K"), ("attn_q.weight", "Q"), ("attn_output.weight", "O"),
                     ("ffn_up", "UP"), ("ffn_gate", "GATE"), ("ffn_down", "DOWN")):
        if sub in name:
            if rules == "legacy" and cat == "KV_B":
                return "OTHER"
            return cat
    return "OTHER"


def is_70b(arch: str, n_layer: int, n_head: int, n_head_kv: int) -> bool:
    if arch == "llama":
        return n_layer == 80 and n_head != n_head_kv
    return (arch in ("qwen2", "qwen2vl", "deci", "olmo") and n_layer == 80) or (arch == "jais2" and n_layer == 68)


def choose_types(layout: GGUFLayout, ftype: str, *, rules: str = "legacy", imatrix: bool = False,
                 pure: bool = False, output_type: str | None = None, token_embd_type: str | None = None,
                 leave_output: bool = False) -> RecipeResult:
    """The ggml type llama-quantize gives each tensor of ``layout`` for file type ``ftype``."""
    if rules not in RULES:
        raise ValueError(f"rules must be one of {RULES}")
    dflt = default_type(ftype).name
    res = RecipeResult(choices=[])
    arch = layout.arch
    n_expert = layout.n_expert or 0
    n_gqa = layout.n_head // layout.n_head_kv if layout.n_head and layout.n_head_kv else 1
    if layout.n_gqa is not None:
        n_gqa = layout.n_gqa  # per-layer head_count_kv: llama.cpp's n_gqa() reads layer 0
    big = is_70b(arch, layout.n_layer, layout.n_head, layout.n_head_kv)
    falcon = arch == "falcon"
    has_output = any(t.name == "output.weight" for t in layout.tensors)
    tensors = sorted(layout.tensors, key=lambda t: _sort_key(t.name))

    vlike = ("attn_v.weight", "attn_qkv.weight", "attn_kv_b.weight")
    n_attention_wv = sum(1 for t in tensors if any(s in t.name for s in vlike))
    n_ffn = layout.n_layer
    st = {"i_wv": 0, "i_down": 0, "i_gate": 0, "i_up": 0}

    def layer_info(counter: str, name: str) -> tuple[int, int]:
        i = st[counter]
        if n_expert > 1:
            m = _ANY_BLK.search(name)
            if m:
                i = int(m.group(1))
        return i, n_ffn

    def recipe(t: GGUFTensor) -> str:
        name = t.name
        nt = dflt
        cat = _category(name, rules)
        vl = cat in ("V", "QKV", "KV_B") if rules == "head" else cat == "V"
        if cat == "OUTPUT" or (cat == "TOKEN_EMBD" and not has_output):
            if output_type:
                return output_type
            if ftype == "MXFP4_MOE":
                return "Q8_0"
            if falcon or t.ne[0] % TYPES[dflt].block:
                return "Q8_0"
            if ftype in ("IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ2_S", "IQ2_M", "IQ1_M"):
                return "Q5_K"
            return "Q6_K" if nt != "Q8_0" else nt
        if ftype == "MXFP4_MOE":
            return "MXFP4" if len(t.ne) > 2 and t.ne[2] > 1 else "Q8_0"
        if cat == "TOKEN_EMBD":
            if token_embd_type:
                return token_embd_type
            if ftype in ("IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ1_M"):
                return "Q2_K"
            if ftype in ("IQ2_S", "IQ2_M", "IQ3_XXS"):
                return "IQ3_S"
            if ftype in ("TQ1_0", "TQ2_0", "Q2_0"):
                return "Q4_K"
            return nt
        if ftype in VERY_LOW:
            if vl:
                if n_gqa >= 4 or n_expert >= 4:
                    nt = "Q4_K"
                else:
                    nt = "IQ3_S" if ftype in ("IQ2_S", "IQ2_M") else "Q2_K"
                st["i_wv"] += 1
            elif cat == "K" and n_expert == 8:
                nt = "Q4_K"
            elif cat == "DOWN":
                if st["i_down"] < n_ffn // 8:
                    nt = "IQ3_S" if ftype in ("IQ2_S", "IQ2_M") else "Q2_K"
                st["i_down"] += 1
            elif cat == "O":
                if n_expert == 8:
                    nt = "Q5_K"
                elif ftype in ("IQ1_S", "IQ1_M"):
                    nt = "IQ2_XXS"
                elif ftype in ("IQ2_S", "IQ2_M"):
                    nt = "IQ3_S"
            return nt
        if vl:
            i = st["i_wv"]
            if ftype == "Q2_K":
                nt = "Q4_K" if n_gqa >= 4 else "Q3_K"
            elif ftype == "Q2_K_S" and n_gqa >= 4:
                nt = "Q4_K"
            elif ftype == "IQ3_XXS":
                nt = "Q4_K" if n_gqa >= 4 else ("IQ3_XXS" if imatrix else "IQ3_S")
            elif ftype in ("IQ3_XS", "IQ3_S") and n_gqa >= 4:
                nt = "Q4_K"
            elif ftype == "IQ3_M":
                nt = "Q4_K"
            elif ftype == "Q3_K_M":
                nt = "Q5_K" if i < 2 else "Q4_K"
            elif ftype == "Q3_K_L":
                nt = "Q5_K"
            elif ftype in ("IQ4_NL", "IQ4_XS") and n_gqa >= 4:
                nt = "Q5_K"
            elif ftype in ("Q4_K_M", "Q5_K_M") and use_more_bits(i, n_attention_wv):
                nt = "Q6_K"
            elif ftype == "Q4_K_S" and i < 4:
                nt = "Q5_K"
            if big and nt in ("Q3_K", "Q4_K"):
                nt = "Q5_K"
            if n_expert == 8:
                nt = "Q8_0"
            st["i_wv"] += 1
            return nt
        if cat == "K":
            if n_expert == 8:
                return "Q8_0"
            if ftype == "IQ3_XS":
                return "IQ3_XXS"
            if ftype == "IQ3_XXS":
                return "IQ2_S"
            return nt
        if cat == "Q":
            if ftype == "IQ3_XS":
                return "IQ3_XXS"
            if ftype == "IQ3_XXS":
                return "IQ2_S"
            return nt
        if cat == "DOWN":
            i, n = layer_info("i_down", name)
            st["i_down"] += 1
            if ftype == "Q2_K":
                nt = "Q3_K"
            elif ftype == "Q2_K_S":
                if i < n // 8:
                    nt = "Q4_K"
            elif ftype == "IQ3_XXS" and not imatrix:
                nt = "Q4_K" if i < n // 8 else "Q3_K"
            elif ftype == "Q3_K_M":
                nt = "Q5_K" if i < n // 16 else ("Q4_K" if not falcon or use_more_bits(i, n) else "Q3_K")
            elif ftype == "IQ3_M" and (i < n // 8 or (n_expert == 8 and use_more_bits(i, n))):
                nt = "Q4_K"
            elif ftype == "Q3_K_L":
                nt = "Q4_K" if falcon else "Q5_K"
            elif ftype == "Q4_K_M":
                if falcon:
                    nt = "Q6_K" if i < n // 16 else ("Q5_K" if use_more_bits(i, n) else "Q4_K")
                elif use_more_bits(i, n):
                    nt = "Q6_K"
            elif i < n // 8 and ftype in ("IQ4_NL", "IQ4_XS") and not imatrix:
                nt = "Q5_K"
            elif ftype == "Q5_K_M" and use_more_bits(i, n):
                nt = "Q6_K"
            elif ftype == "Q4_K_S" and not falcon and i < n // 8:
                nt = "Q5_K"
            elif ftype in ("Q4_0", "Q5_0") and imatrix and i < n // 8:
                nt = "Q4_1" if ftype == "Q4_0" else "Q5_1"
            return nt
        if cat == "O":
            if not falcon:
                if n_expert == 8:
                    if ftype in ("Q2_K", "IQ3_XS", "IQ3_XXS", "Q3_K_S", "Q3_K_M", "IQ4_NL", "Q4_K_S", "Q4_K_M",
                                 "IQ3_S", "IQ3_M", "IQ4_XS"):
                        nt = "Q5_K"
                else:
                    nt = {"Q2_K": "Q3_K", "IQ3_XXS": "IQ3_S", "Q3_K_M": "Q4_K", "Q3_K_L": "Q5_K",
                          "IQ3_M": "Q4_K"}.get(ftype, nt)
            elif ftype == "Q3_K_L":
                nt = "Q4_K"
            return nt
        if cat == "QKV":  # LEGACY only (HEAD treats it as attn_v-like above)
            return {"Q3_K_M": "Q4_K", "Q3_K_L": "Q4_K", "IQ3_M": "Q4_K", "Q4_K_M": "Q5_K",
                    "Q5_K_M": "Q6_K"}.get(ftype, nt)
        if cat in ("GATE", "UP"):
            counter = "i_gate" if cat == "GATE" else "i_up"
            i, n = layer_info(counter, name)
            st[counter] += 1
            if ftype == "IQ3_XS" and n // 8 <= i < 7 * n // 8:
                nt = "IQ3_XXS"
            return nt
        return nt

    quantizing = TYPES[dflt].quantized
    fb_table = FALLBACK_HEAD if rules == "head" else FALLBACK_LEGACY
    kept_quantized = 0
    for t in tensors:
        if not allows_quantization(t.name, t.n_dims, rules, leave_output):
            res.choices.append(TypeChoice(t, t.base_type, False))
            continue
        if TYPES[t.base_type].quantized and t.base_type != dflt:
            # already quantized by the converter (gpt-oss MXFP4 experts): llama-quantize requantizes only with
            # --allow-requantize; published files keep them
            res.choices.append(TypeChoice(t, t.base_type, False))
            kept_quantized += 1
            continue
        if not quantizing:
            res.choices.append(TypeChoice(t, dflt, True))
            continue
        nt = dflt if pure else recipe(t)
        choice = TypeChoice(t, nt, True)
        if t.ne[0] % TYPES[nt].block:
            fb = fb_table.get(nt)
            if fb is None:
                choice.note = (f"{nt} does not divide a row of {t.ne[0]}: llama-quantize has no fallback and stops; "
                               "counted as F16 (what the converter writes)")
                fb = "F16"
            elif t.ne[0] % TYPES[fb].block:
                fb = "F16"
            choice.fallback_from, choice.type = nt, fb
        res.choices.append(choice)
    if kept_quantized:
        res.notes.append(f"{kept_quantized} tensors the converter already wrote quantized (MXFP4) are kept as they are "
                         "(llama-quantize would requantize them only with --allow-requantize)")
    if ftype in NEEDS_IMATRIX and not imatrix:
        res.notes.append(f"llama-quantize requires an importance matrix for {ftype}; the sizes are the same with one")
    return res
