"""Hugging Face tensor names and shapes -> the tensors ``convert_hf_to_gguf`` writes (docs/gguf-size-rules.md §4).

Input: any records with ``name``, ``dtype``, ``shape`` (safetensors ``TensorInfo`` or the architecture rules'
``ExpectedTensor``) and the :class:`ModelConfig`. Output: a :class:`GGUFLayout` with one :class:`GGUFTensor`
per tensor in the converted file: GGUF name, ggml shape ``ne`` (the PyTorch shape reversed), the type the converter
writes it in (F32 for 1-D, norms, biases and the forced-F32 list; otherwise the 16-bit ``--outtype``), and the
component it belongs to. What the converter drops (rotary buffers, FP8 scales, MTP layers, tied copies,
vision/audio towers, which go to a separate mmproj file) is listed in ``dropped``; what it stacks (per-expert
weights into one 3-D tensor per layer) or splits (DeepSeek's ``kv_b_proj``) is done here.

The knowledge is tables: ``LAYER_MAP`` (per-layer HF suffix -> GGUF suffix), ``GLOBAL_MAP`` and a few per-family
overrides (``FAMILY``).
"""

from __future__ import annotations

import math

import re
from dataclasses import dataclass, field

from ...readers.config import ModelConfig
from .. import classify as C

# HF model_type -> (GGUF general.architecture, family key used below)
ARCH = {
    "llama": "llama", "mistral": "llama", "mixtral": "llama", "granite": "granite",
    "qwen2": "qwen2", "qwen3": "qwen3", "qwen2_moe": "qwen2moe", "qwen3_moe": "qwen3moe",
    "deepseek_v2": "deepseek2", "deepseek_v3": "deepseek2", "kimi_k2": "deepseek2",
    "gemma": "gemma", "gemma2": "gemma2", "gemma3": "gemma3", "gemma3_text": "gemma3",
    "phi3": "phi3", "gpt2": "gpt2", "gpt_oss": "gpt-oss", "bert": "bert", "t5": "t5",
    "olmo2": "olmo2", "falcon": "falcon", "starcoder2": "starcoder2", "cohere": "command-r",
}

# Per-layer HF suffix (after "model.layers.N.") -> GGUF suffix (after "blk.N.").
LAYER_MAP: dict[str, str] = {
    "input_layernorm": "attn_norm", "ln_1": "attn_norm", "post_attention_layernorm": "ffn_norm",
    "ln_2": "ffn_norm", "pre_feedforward_layernorm": "ffn_norm", "post_feedforward_layernorm": "post_ffw_norm",
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "self_attn.qkv_proj": "attn_qkv", "self_attn.dense": "attn_output",
    "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
    "self_attn.q_layernorm": "attn_q_norm", "self_attn.k_layernorm": "attn_k_norm",
    "self_attn.q_a_proj": "attn_q_a", "self_attn.q_a_layernorm": "attn_q_a_norm", "self_attn.q_b_proj": "attn_q_b",
    "self_attn.kv_a_proj_with_mqa": "attn_kv_a_mqa", "self_attn.kv_a_layernorm": "attn_kv_a_norm",
    "self_attn.kv_b_proj": "attn_kv_b", "self_attn.sinks": "attn_sinks",
    "attn.c_attn": "attn_qkv", "attn.c_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
    "mlp.gate_up_proj": "ffn_up", "mlp.c_fc": "ffn_up", "mlp.c_proj": "ffn_down",
    "mlp.fc1": "ffn_up", "mlp.fc2": "ffn_down",
    "mlp.gate": "ffn_gate_inp", "block_sparse_moe.gate": "ffn_gate_inp", "mlp.router": "ffn_gate_inp",
    "mlp.gate.e_score_correction_bias": "exp_probs_b.bias",
    "mlp.shared_expert.gate_proj": "ffn_gate_shexp", "mlp.shared_expert.up_proj": "ffn_up_shexp",
    "mlp.shared_expert.down_proj": "ffn_down_shexp", "mlp.shared_expert_gate": "ffn_gate_inp_shexp",
    "mlp.shared_experts.gate_proj": "ffn_gate_shexp", "mlp.shared_experts.up_proj": "ffn_up_shexp",
    "mlp.shared_experts.down_proj": "ffn_down_shexp",
}
# Family overrides of LAYER_MAP.
FAMILY: dict[str, dict[str, str]] = {
    "gemma2": {"post_attention_layernorm": "post_attention_norm"},
    "gemma3": {"post_attention_layernorm": "post_attention_norm"},
    "olmo2": {"post_attention_layernorm": "post_attention_norm", "post_feedforward_layernorm": "post_ffw_norm"},
    "gpt-oss": {"post_attention_layernorm": "post_attention_norm"},
}
GLOBAL_MAP: dict[str, str] = {
    "embed_tokens": "token_embd", "wte": "token_embd", "tok_embeddings": "token_embd", "shared": "token_embd",
    "lm_head": "output", "norm": "output_norm", "ln_f": "output_norm", "final_layernorm": "output_norm",
    "wpe": "position_embd",
}
# Stacked experts: HF projection name -> GGUF base name
EXPERT_PROJ = {"gate_proj": "ffn_gate_exps", "w1": "ffn_gate_exps", "up_proj": "ffn_up_exps", "w3": "ffn_up_exps",
               "down_proj": "ffn_down_exps", "w2": "ffn_down_exps"}
# Names the converter writes as F32 whatever their shape (conversion/base.py prepare_tensors)
FORCED_F32 = ("ffn_gate_inp.weight", "ffn_gate_inp_shexp.weight", "position_embd.weight", "token_types.weight",
              "ssm_conv1d.weight", "attn_sinks.weight")

_PREFIX = re.compile(r"^(?:model\.language_model\.|language_model\.model\.|language_model\.|model\.|transformer\.)")
_LAYER = re.compile(r"^(?:layers|h|blocks)\.(\d+)\.(.+)$")
_EXPERT = re.compile(r"^(mlp|block_sparse_moe)\.experts\.(\d+)\.(\w+)\.(weight|bias)$")
_FUSED_EXPERT = re.compile(r"^mlp\.experts\.(gate_up_proj|down_proj|gate_proj|up_proj)(_blocks|_bias|_scales)?$")


@dataclass
class GGUFTensor:
    name: str
    ne: tuple[int, ...]  #: ggml shape (PyTorch shape reversed)
    base_type: str  #: what the converter writes: "F32", or "F16" for the 16-bit --outtype
    component: str
    layer: int | None = None
    sources: tuple[str, ...] = ()

    @property
    def n_dims(self) -> int:
        """``ggml_n_dims``: trailing 1-sized dimensions do not count."""
        n = len(self.ne)
        while n > 1 and self.ne[n - 1] == 1:
            n -= 1
        return max(n, 1)

    @property
    def numel(self) -> int:
        return math.prod(self.ne)


@dataclass
class GGUFLayout:
    arch: str
    n_layer: int
    n_head: int
    n_head_kv: int
    n_expert: int
    tensors: list[GGUFTensor] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)  #: reason -> number of HF tensors
    dropped_params: int = 0
    notes: list[str] = field(default_factory=list)
    mla_layout: str | None = None  #: "kv_b" or "split" for DeepSeek MLA models


def gguf_arch(config: ModelConfig) -> str:
    return ARCH.get(config.model_type or "", config.model_type or "llama")


def _numel(shape) -> int:
    p = 1
    for d in shape:
        p *= int(d)
    return p


def _base_type(gname: str, ne: tuple[int, ...]) -> str:
    n = len(ne)
    while n > 1 and ne[n - 1] == 1:
        n -= 1
    if n <= 1 or not gname.endswith(".weight") or "_norm.weight" in gname or gname.endswith(FORCED_F32):
        return "F32"
    return "F16"


def _shape_of(t) -> tuple[int, ...]:
    return tuple(int(d) for d in t.shape)


def map_tensors(tensors, config: ModelConfig, *, mla_layout: str = "split") -> GGUFLayout:
    """The GGUF tensor list the converter would write for these HF tensors (see module docstring)."""
    arch = gguf_arch(config)
    fam = dict(LAYER_MAP)
    fam.update(FAMILY.get(arch, {}))
    n_layer = config.num_hidden_layers or 0
    n_head = config.num_attention_heads or 0
    n_kv = config.num_key_value_heads or n_head
    n_exp = config.num_experts or 0
    if config.model_type == "t5":
        return _map_t5(tensors, config)
    if config.model_type == "bert":
        return _map_bert(tensors, config)
    out = GGUFLayout(arch=arch, n_layer=n_layer, n_head=n_head, n_head_kv=n_kv, n_expert=n_exp)
    is_ds = arch == "deepseek2"
    if is_ds:
        out.mla_layout = mla_layout
        if mla_layout == "split":
            out.n_head_kv = 1
    names = {t.name for t in tensors}
    tied_ds = is_ds and bool(config.tie_word_embeddings)
    experts: dict[tuple[int, str, str], dict[int, tuple]] = {}
    by_name: dict[str, GGUFTensor] = {}

    def drop(reason: str, t) -> None:
        out.dropped[reason] = out.dropped.get(reason, 0) + 1
        out.dropped_params += _numel(_shape_of(t))

    def add(gname: str, ne: tuple[int, ...], comp: str, layer: int | None, src: str) -> None:
        g = GGUFTensor(gname, ne, _base_type(gname, ne), comp, layer, (src,))
        by_name[gname] = g
        out.tensors.append(g)

    for t in tensors:
        name = t.name
        shape = _shape_of(t)
        comp = C.component_of(name)
        if comp == C.QUANT:
            if name.endswith("_scales") and _FUSED_EXPERT.match(_LAYER.sub(r"\2", _PREFIX.sub("", name))):
                continue  # MXFP4 scales travel with their _blocks tensor
            drop("quantization scales (dequantized or repacked by the converter)", t)
            continue
        if comp == C.BUFFER:
            drop("buffers (rotary inv_freq, attention masks)", t)
            continue
        if comp in (C.VISION, C.AUDIO, C.PROJECTOR):
            drop("vision/audio tower (written to a separate mmproj GGUF)", t)
            continue
        rest = _PREFIX.sub("", name)
        m = _LAYER.match(rest)
        if not m:
            base, _, suffix = rest.rpartition(".")
            if not base:
                base, suffix = rest, "weight"
            if base == "lm_head" and tied_ds:
                drop("tied lm_head copy", t)
                continue
            g = GLOBAL_MAP.get(base)
            if g is None:
                drop(f"not mapped by the converter ({base})", t)
                continue
            ne = tuple(reversed(shape))
            add(f"{g}.{suffix}", ne, comp, None, name)
            continue
        layer, sub = int(m.group(1)), m.group(2)
        if n_layer and layer >= n_layer:
            drop("MTP / next-token layers beyond num_hidden_layers (skip_mtp)", t)
            continue
        em = _EXPERT.match(sub)
        if em:
            proj, kind = em.group(3), em.group(4)
            gbase = EXPERT_PROJ.get(proj)
            if gbase is None:
                drop(f"not mapped by the converter (experts.{proj})", t)
                continue
            experts.setdefault((layer, gbase, kind), {})[int(em.group(2))] = (shape, name)
            continue
        fm = _FUSED_EXPERT.match(sub)
        if fm:
            _fused_experts(out, add, config, layer, fm.group(1), fm.group(2) or "", shape, name)
            continue
        base, _, suffix = sub.rpartition(".")
        if base == "" or suffix not in ("weight", "bias"):
            base, suffix = sub, "weight"  # e.g. self_attn.sinks (no .weight in HF)
        if sub == "mlp.gate.e_score_correction_bias":
            add(f"blk.{layer}.exp_probs_b.bias", tuple(reversed(shape)), C.ROUTER, layer, name)
            continue
        g = fam.get(base)
        if g is None:
            drop(f"not mapped by the converter ({base})", t)
            continue
        if g == "attn_kv_b" and is_ds and mla_layout == "split":
            _split_kv_b(out, add, config, layer, shape, name)
            continue
        ne = tuple(reversed(shape))
        if arch == "gpt2" and g in ("attn_qkv", "attn_output", "ffn_up", "ffn_down") and suffix == "weight":
            ne = tuple(shape)  # Conv1D (in, out), transposed by the converter
        add(f"blk.{layer}.{g}.{suffix}", ne, comp, layer, name)

    for (layer, gbase, kind), ex in sorted(experts.items()):
        shapes = {s for s, _ in ex.values()}
        shape = next(iter(shapes))
        ne = tuple(reversed(shape)) + (len(ex),)
        add(f"blk.{layer}.{gbase}.{kind}", ne, C.EXPERTS, layer, f"{len(ex)} experts")

    if "output.weight" not in by_name and arch == "gpt2" and "token_embd.weight" in by_name:
        e = by_name["token_embd.weight"]
        add("output.weight", e.ne, C.LM_HEAD, None, "copy of wte (the GPT-2 converter writes the tied head)")
    _generated(out, add, config, names)
    return out


def _fused_experts(out, add, config, layer, proj, kind, shape, name) -> None:
    """3-D expert tensors (transformers v5 fused layout, gpt-oss MXFP4 ``_blocks``): one or two GGUF tensors."""
    E = shape[0]
    H = config.hidden_size or 0
    F = config.moe_intermediate_size or config.intermediate_size or 0
    if kind == "_bias":
        if proj == "gate_up_proj":
            add(f"blk.{layer}.ffn_gate_exps.bias", (F, E), C.EXPERTS, layer, name)
            add(f"blk.{layer}.ffn_up_exps.bias", (F, E), C.EXPERTS, layer, name)
        else:
            add(f"blk.{layer}.{EXPERT_PROJ[proj]}.bias", (H if proj == "down_proj" else F, E), C.EXPERTS, layer, name)
        return
    if proj == "gate_up_proj":
        add(f"blk.{layer}.ffn_gate_exps.weight", (H, F, E), C.EXPERTS, layer, name)
        add(f"blk.{layer}.ffn_up_exps.weight", (H, F, E), C.EXPERTS, layer, name)
    elif proj == "down_proj":
        add(f"blk.{layer}.ffn_down_exps.weight", (F, H, E), C.EXPERTS, layer, name)
    else:
        add(f"blk.{layer}.{EXPERT_PROJ[proj]}.weight", (H, F, E), C.EXPERTS, layer, name)


def _split_kv_b(out, add, config, layer, shape, name) -> None:
    """PR #12801: kv_b_proj (heads*(nope+v), kv_lora) -> attn_k_b [nope, kv_lora, heads] + attn_v_b [kv_lora, v, heads]."""
    H = config.num_attention_heads or 1
    nope = config.qk_nope_head_dim or 0
    v = config.v_head_dim or 0
    lora = shape[1] if len(shape) == 2 else (config.kv_lora_rank or 0)
    add(f"blk.{layer}.attn_k_b.weight", (nope, lora, H), C.ATTENTION, layer, name)
    add(f"blk.{layer}.attn_v_b.weight", (lora, v, H), C.ATTENTION, layer, name)


def _generated(out, add, config, names) -> None:
    """Tensors the converter makes up: Llama-3.x ``rope_freqs``, Phi-3 long-rope factors."""
    rs = config.rope_scaling or {}
    rtype = rs.get("rope_type") or rs.get("type")
    hd = config.head_dim or 0
    if out.arch in ("llama", "granite") and rtype == "llama3" and hd:
        add("rope_freqs.weight", (hd // 2,), C.OTHER, None, "generated (llama3 rope scaling)")
        out.notes.append("rope_freqs.weight is generated by the converter (Llama-3.x rope scaling)")
    if out.arch == "phi3" and rtype in ("longrope", "su") and hd:
        add("rope_factors_long.weight", (hd // 2,), C.OTHER, None, "generated (longrope)")
        add("rope_factors_short.weight", (hd // 2,), C.OTHER, None, "generated (longrope)")


# ---- encoder and encoder-decoder families (bert, t5): their own naming --------------------------------------

_BERT = [
    (r"embeddings\.word_embeddings\.(weight)", "token_embd.{0}"),
    (r"embeddings\.position_embeddings\.(weight)", "position_embd.{0}"),
    (r"embeddings\.token_type_embeddings\.(weight)", "token_types.{0}"),
    (r"embeddings\.LayerNorm\.(weight|bias)", "token_embd_norm.{0}"),
    (r"encoder\.layer\.(\d+)\.attention\.self\.query\.(weight|bias)", "blk.{0}.attn_q.{1}"),
    (r"encoder\.layer\.(\d+)\.attention\.self\.key\.(weight|bias)", "blk.{0}.attn_k.{1}"),
    (r"encoder\.layer\.(\d+)\.attention\.self\.value\.(weight|bias)", "blk.{0}.attn_v.{1}"),
    (r"encoder\.layer\.(\d+)\.attention\.output\.dense\.(weight|bias)", "blk.{0}.attn_output.{1}"),
    (r"encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.(weight|bias)", "blk.{0}.attn_output_norm.{1}"),
    (r"encoder\.layer\.(\d+)\.intermediate\.dense\.(weight|bias)", "blk.{0}.ffn_up.{1}"),
    (r"encoder\.layer\.(\d+)\.output\.dense\.(weight|bias)", "blk.{0}.ffn_down.{1}"),
    (r"encoder\.layer\.(\d+)\.output\.LayerNorm\.(weight|bias)", "blk.{0}.layer_output_norm.{1}"),
]
_T5 = [
    (r"shared\.(weight)", "token_embd.{0}"),
    (r"lm_head\.(weight)", "output.{0}"),
    (r"encoder\.final_layer_norm\.(weight)", "enc.output_norm.{0}"),
    (r"decoder\.final_layer_norm\.(weight)", "dec.output_norm.{0}"),
    (r"(encoder|decoder)\.block\.(\d+)\.layer\.0\.SelfAttention\.([qkvo])\.(weight)", "{0}.blk.{1}.attn_{2}.{3}"),
    (r"(encoder|decoder)\.block\.(\d+)\.layer\.0\.SelfAttention\.relative_attention_bias\.(weight)",
     "{0}.blk.{1}.attn_rel_b.{2}"),
    (r"(encoder|decoder)\.block\.(\d+)\.layer\.0\.layer_norm\.(weight)", "{0}.blk.{1}.attn_norm.{2}"),
    (r"decoder\.block\.(\d+)\.layer\.1\.EncDecAttention\.([qkvo])\.(weight)", "dec.blk.{0}.cross_attn_{1}.{2}"),
    (r"decoder\.block\.(\d+)\.layer\.1\.layer_norm\.(weight)", "dec.blk.{0}.cross_attn_norm.{1}"),
    (r"(encoder)\.block\.(\d+)\.layer\.1\.DenseReluDense\.(wi|wi_1|wi_0|wo)\.(weight)", "{0}.blk.{1}.{2}.{3}"),
    (r"(decoder)\.block\.(\d+)\.layer\.2\.DenseReluDense\.(wi|wi_1|wi_0|wo)\.(weight)", "{0}.blk.{1}.{2}.{3}"),
    (r"(encoder)\.block\.(\d+)\.layer\.1\.layer_norm\.(weight)", "{0}.blk.{1}.ffn_norm.{2}"),
    (r"(decoder)\.block\.(\d+)\.layer\.2\.layer_norm\.(weight)", "{0}.blk.{1}.ffn_norm.{2}"),
]
_T5_FFN = {"wi": "ffn_up", "wi_1": "ffn_up", "wi_0": "ffn_gate", "wo": "ffn_down"}


def _map_table(table, tensors, config, arch, fix=None) -> GGUFLayout:
    n_head = config.num_attention_heads or 0
    out = GGUFLayout(arch=arch, n_layer=config.num_hidden_layers or 0, n_head=n_head,
                     n_head_kv=config.num_key_value_heads or n_head, n_expert=0)
    pats = [(re.compile(r"^(?:bert\.|model\.)?" + p + "$"), f) for p, f in table]
    for t in tensors:
        shape = _shape_of(t)
        for pat, fmt in pats:
            m = pat.match(t.name)
            if m:
                groups = list(m.groups())
                if fix:
                    groups = fix(groups)
                gname = fmt.format(*[{"encoder": "enc", "decoder": "dec"}.get(g, g) for g in groups])
                ne = tuple(reversed(shape))
                layer = next((int(g) for g in groups if g.isdigit()), None)
                out.tensors.append(GGUFTensor(gname, ne, _base_type(gname, ne), C.component_of(t.name), layer,
                                              (t.name,)))
                break
        else:
            reason = "tied embedding copy" if t.name.endswith("embed_tokens.weight") else \
                "not used by llama.cpp (pooler / task heads / buffers)"
            out.dropped[reason] = out.dropped.get(reason, 0) + 1
            out.dropped_params += _numel(shape)
    return out


def _map_bert(tensors, config) -> GGUFLayout:
    return _map_table(_BERT, tensors, config, "bert")


def _map_t5(tensors, config) -> GGUFLayout:
    def fix(groups):
        return [_T5_FFN.get(g, g) for g in groups]

    return _map_table(_T5, tensors, config, "t5", fix)
