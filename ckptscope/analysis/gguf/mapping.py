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
from . import convert_more as _more

# HF model_type (or the architecture rules' family key) -> GGUF general.architecture: the ``model_arch`` of the
# class llama.cpp's converter registers for that architecture (conversion/*.py, gguf-py MODEL_ARCH_NAMES).
ARCH = {
    "llama": "llama", "mistral": "llama", "mixtral": "llama", "granite": "granite", "internlm3": "llama",
    "qwen2": "qwen2", "qwen3": "qwen3", "qwen2_moe": "qwen2moe", "qwen3_moe": "qwen3moe",
    "deepseek_v2": "deepseek2", "deepseek_v3": "deepseek2", "kimi_k2": "deepseek2",
    "gemma": "gemma", "gemma2": "gemma2", "gemma3": "gemma3", "gemma3_text": "gemma3",
    "phi3": "phi3", "gpt2": "gpt2", "gpt_oss": "gpt-oss", "bert": "bert", "t5": "t5",
    "olmo2": "olmo2", "olmo3": "olmo2", "olmoe": "olmoe", "falcon": "falcon", "starcoder2": "starcoder2",
    "cohere": "command-r", "cohere2": "cohere2", "stablelm": "stablelm",
    "qwen3_next": "qwen3next", "glm4": "glm4", "glm4_moe": "glm4moe", "llama4": "llama4", "llama4_text": "llama4",
    "minicpm": "minicpm", "minicpm3": "minicpm3", "internlm2": "internlm2", "exaone4": "exaone4",
    "ernie4_5": "ernie4_5", "ernie4_5_moe": "ernie4_5-moe", "hunyuan_v1_dense": "hunyuan-dense",
    "hunyuan_v1_moe": "hunyuan-moe", "smollm3": "smollm3", "seed_oss": "seed_oss",
    "granitemoe": "granitemoe", "granitemoeshared": "granitemoe", "granitemoehybrid": "granitehybrid",
    "nemotron": "nemotron", "nemotron_h": "nemotron_h", "falcon_h1": "falcon-h1", "jamba": "jamba",
    "mamba": "mamba", "mamba2": "mamba2", "phimoe": "phimoe", "dbrx": "dbrx", "minimax_m2": "minimax-m2",
    "mistral3": "mistral3", "ministral3": "mistral3",
    "qwen2_vl": "qwen2vl", "qwen2_5_vl": "qwen2vl", "qwen3_vl": "qwen3vl", "qwen3_vl_moe": "qwen3vlmoe",
}
# Architectures whose converter class derives from LlamaModel (generate_extra_tensors: rope_freqs for llama3 rope)
_LLAMA_CLASS = {"llama", "granite", "granitemoe", "llama4", "smollm3", "mistral3"}
# Mamba-2 style converters (Mamba2Model.modify_tensors): A and D get a trailing 1, ssm_norm is viewed per group
_MAMBA2 = {"mamba2", "falcon-h1", "granitehybrid", "nemotron_h", "nemotron_h_moe"}
# Hybrids whose converter writes head_count_kv per layer, 0 for recurrent (and MLP-only) layers; llama.cpp's
# n_gqa() then reads layer 0 (0 when layer 0 has no attention)
_PER_LAYER_KV = {"jamba", "granitehybrid", "nemotron_h", "nemotron_h_moe"}
# GGUF names written without a .weight suffix: gguf-py maps Falcon-H1's "pre_ff_layernorm.weight" as a whole key
_NO_SUFFIX = {("falcon-h1", "ffn_norm"), ("*", "ssm_a"), ("*", "ssm_d")}
# Converters that skip a stored lm_head when the config says it is tied (DeepseekV2Model, HunYuan*Model; MambaModel
# omits output.weight when it equals token_embd) and those that skip every bias (Cohere2Model: they are all zero)
_DROP_TIED_HEAD = {"deepseek2", "hunyuan-moe", "hunyuan-dense", "mamba"}
_DROP_BIASES = {"cohere2"}
# Architectures that keep their NextN/MTP layers (counted in block_count); every other converter drops them
_KEEPS_MTP = {"glm4moe"}

# Per-layer HF suffix (after "model.layers.N.") -> GGUF suffix (after "blk.N."). A tuple lists the candidates in
# order of preference; the first one the architecture declares (gguf-py MODEL_TENSORS) is taken, as gguf-py's
# TensorNameMap does for the converter.
LAYER_MAP: dict[str, str | tuple[str, ...]] = {
    "input_layernorm": "attn_norm", "ln_1": "attn_norm", "post_attention_layernorm": ("ffn_norm", "post_attention_norm"),
    "ln_2": "ffn_norm", "pre_feedforward_layernorm": "ffn_norm", "post_feedforward_layernorm": "post_ffw_norm",
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "self_attn.qkv_proj": "attn_qkv", "self_attn.dense": "attn_output",
    "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
    "self_attn.q_layernorm": "attn_q_norm", "self_attn.k_layernorm": "attn_k_norm",
    "self_attn.query_layernorm": "attn_q_norm", "self_attn.key_layernorm": "attn_k_norm",
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
    # post-norms of GLM-4 / Gemma / OLMo-2 style blocks
    "post_self_attn_layernorm": "post_attention_norm", "post_mlp_layernorm": "post_ffw_norm",
    "pre_ff_layernorm": "ffn_norm",
    # MoE routers, shared experts and router biases under other module names
    "mlp.gate.wg": "ffn_gate_inp", "block_sparse_moe.router.layer": "ffn_gate_inp",
    "feed_forward.router": "ffn_gate_inp", "mixer.gate": "ffn_gate_inp",
    "mlp.shared_mlp.gate_proj": "ffn_gate_shexp", "mlp.shared_mlp.up_proj": "ffn_up_shexp",
    "mlp.shared_mlp.down_proj": "ffn_down_shexp",
    "feed_forward.shared_expert.gate_proj": "ffn_gate_shexp", "feed_forward.shared_expert.up_proj": "ffn_up_shexp",
    "feed_forward.shared_expert.down_proj": "ffn_down_shexp",
    "mixer.shared_experts.up_proj": "ffn_up_shexp", "mixer.shared_experts.down_proj": "ffn_down_shexp",
    "mlp.moe_statics.e_score_correction": "exp_probs_b", "block_sparse_moe.e_score_correction": "exp_probs_b",
    "mixer.gate.e_score_correction": "exp_probs_b", "mlp.gate.e_score_correction": "exp_probs_b",
    "feed_forward.gate_proj": "ffn_gate", "feed_forward.up_proj": "ffn_up", "feed_forward.down_proj": "ffn_down",
    "mixer.up_proj": "ffn_up", "mixer.down_proj": "ffn_down",
    "shared_mlp.output_linear": ("ffn_down_shexp", "ffn_down"),
    # attention under other module names
    "mixer.q_proj": "attn_q", "mixer.k_proj": "attn_k", "mixer.v_proj": "attn_v", "mixer.o_proj": "attn_output",
    "attention.wo": "attn_output", "attention_norm": "attn_norm", "ffn_norm": "ffn_norm",
    "feed_forward.w1": "ffn_gate", "feed_forward.w3": "ffn_up", "feed_forward.w2": "ffn_down",
    "norm_attn_norm.norm_1": "attn_norm", "norm_attn_norm.norm_2": "attn_output_norm",
    "norm_attn_norm.attn.Wqkv": "attn_qkv", "norm_attn_norm.attn.out_proj": "attn_output",
    "ffn.router.layer": "ffn_gate_inp",
    # state-space / linear-attention mixers (Mamba-1/2, Jamba, Falcon-H1, Granite-4, Nemotron-H, Qwen3-Next)
    "norm": "attn_norm",
    **{f"{m}.{k}": v for m in ("mixer", "mamba", "linear_attn") for k, v in (
        ("in_proj", "ssm_in"), ("out_proj", "ssm_out"), ("conv1d", "ssm_conv1d"), ("x_proj", "ssm_x"),
        ("dt_proj", "ssm_dt"), ("A_log", "ssm_a"), ("D", "ssm_d"), ("norm", "ssm_norm"),
        ("dt_layernorm", "ssm_dt_norm"), ("b_layernorm", "ssm_b_norm"), ("c_layernorm", "ssm_c_norm"),
        ("in_proj_ba", "ssm_ba"))},
    # GLM-4.5 NextN/MTP block (kept by the converter, blk.{n_layer}.nextn.*)
    "eh_proj": "nextn.eh_proj", "enorm": "nextn.enorm", "hnorm": "nextn.hnorm",
    "shared_head.norm": "nextn.shared_head_norm", "shared_head.head": "nextn.shared_head_head",
    "embed_tokens": "nextn.embed_tokens",
}
# Family overrides of LAYER_MAP.
FAMILY: dict[str, dict[str, str]] = {
    "gemma2": {"post_attention_layernorm": "post_attention_norm"},
    "gemma3": {"post_attention_layernorm": "post_attention_norm"},
    "olmo2": {"post_attention_layernorm": "post_attention_norm", "post_feedforward_layernorm": "post_ffw_norm"},
    "gpt-oss": {"post_attention_layernorm": "post_attention_norm"},
    "exaone4": {"post_attention_layernorm": "post_attention_norm", "post_feedforward_layernorm": "post_ffw_norm"},
}
GLOBAL_MAP: dict[str, str] = {
    "embed_tokens": "token_embd", "wte": "token_embd", "tok_embeddings": "token_embd", "shared": "token_embd",
    "lm_head": "output", "norm": "output_norm", "ln_f": "output_norm", "final_layernorm": "output_norm",
    "wpe": "position_embd", "embeddings": "token_embd", "norm_f": "output_norm", "output": "output",
    "embedding_norm": "token_embd_norm",
}
# Stacked experts: HF projection name -> GGUF base name
EXPERT_PROJ = {"gate_proj": "ffn_gate_exps", "w1": "ffn_gate_exps", "up_proj": "ffn_up_exps", "w3": "ffn_up_exps",
               "down_proj": "ffn_down_exps", "w2": "ffn_down_exps", "v1": "ffn_up_exps"}
# Names the converter writes as F32 whatever their shape (conversion/base.py prepare_tensors)
FORCED_F32 = ("ffn_gate_inp.weight", "ffn_gate_inp_shexp.weight", "position_embd.weight", "token_types.weight",
              "ssm_conv1d.weight", "attn_sinks.weight")

_PREFIX = re.compile(r"^(?:model\.language_model\.|language_model\.model\.|language_model\.|model\.|transformer\.|"
                     r"backbone\.)")
_LAYER = re.compile(r"^(?:layers|h|blocks)\.(\d+)\.(.+)$")
_EXPERT = re.compile(r"^(mlp|block_sparse_moe|feed_forward|mixer)\.experts\.(\d+)\.(\w+)\.(weight|bias)$")
_FUSED_EXPERT = re.compile(r"^(?:mlp|feed_forward)\.experts\.(gate_up_proj|down_proj|gate_proj|up_proj)"
                           r"(_blocks|_bias|_scales)?(?:\.weight)?$")
_SPLIT_EXPERT = re.compile(r"^(?:block_sparse_moe\.(input_linear|output_linear)|ffn\.experts\.mlp\.(w1|v1|w2))"
                           r"(?:\.weight)?$")


def _declared(arch: str) -> set[str] | None:
    """GGUF tensor names (``blk.{bid}.`` stripped) that gguf-py's MODEL_TENSORS lists for ``arch``; None when the
    gguf package is not there."""
    from .pkg import constants

    k = constants()
    if k is None:
        return None
    for a, name in k.MODEL_ARCH_NAMES.items():
        if name == arch:
            return {k.TENSOR_NAMES[t].replace("blk.{bid}.", "") for t in k.MODEL_TENSORS.get(a, ())}
    return None


def _pick(cands, declared: set[str] | None) -> str:
    if isinstance(cands, str):
        return cands
    if declared:
        for c in cands:
            if c.split(".bias")[0] in declared:
                return c
    return cands[0]


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
    n_gqa: int | None = None  #: llama.cpp's n_gqa() where it is not n_head / n_head_kv (per-layer KV heads)


def gguf_arch(config: ModelConfig) -> str:
    """The GGUF ``general.architecture`` llama.cpp's converter writes for this config."""
    given = config.get("gguf_architecture")
    if isinstance(given, str) and given:
        return given  # a config read from a GGUF file
    mt = config.model_type or ""
    arch = ARCH.get(mt) or _more.arch_for(config)
    if arch is None:
        try:
            from ..arch import family_name

            arch = ARCH.get(family_name(config) or "")
        except ImportError:  # pragma: no cover - the rules are part of the package
            arch = None
    if arch is None:
        return mt or "llama"
    if arch == "nemotron_h" and config.get("num_experts_per_tok") is not None:
        arch = "nemotron_h_moe"  # conversion/nemotron.py: MoE when the config has num_experts_per_tok
    if arch == "granitehybrid":
        kinds = config.get("layer_types") or config.get("layers_block_type")
        if isinstance(kinds, list) and kinds and all(k == "attention" for k in kinds):
            arch = "granitemoe" if config.get("num_experts_per_tok") else "granite"
    return arch


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


def _num(config: ModelConfig, *keys: str) -> int:
    for k in keys:
        v = config.get(k)
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            return v
    return 0


def _with_class_defaults(config: ModelConfig) -> ModelConfig:
    """config.json plus transformers' class defaults for the fields it leaves out (Gemma 3's config.json names no
    head counts), as the architecture rules use them; unchanged when there are no rules or nothing is missing."""
    if config.num_attention_heads and config.hidden_size and config.num_hidden_layers:
        return config
    try:
        from ..arch import family_name, with_defaults
        from ..arch.families import module_for

        fam = module_for(family_name(config))
        return with_defaults(config, getattr(fam, "DEFAULTS", None) or {}) if fam is not None else config
    except (ImportError, TypeError, ValueError):  # pragma: no cover - defaults are best effort
        return config


def _n_layer_fallback(config: ModelConfig, tensors) -> int:
    """Layers when config.json has no num_hidden_layers (Nemotron-H: one entry per layer in its block-type list)."""
    for k in ("layers_block_type", "hybrid_override_pattern", "layer_types"):
        v = config.get(k)
        if isinstance(v, (list, str)) and v:
            return len(v)
    top = -1
    for t in tensors:
        m = _LAYER.match(_PREFIX.sub("", t.name.replace("language_model.", "")))
        if m:
            top = max(top, int(m.group(1)))
    return top + 1


def _n_expert(config: ModelConfig, arch: str) -> int:
    if arch == "dbrx":
        ffn = config.get("ffn_config") or {}
        return int(ffn.get("moe_num_experts") or 0) if isinstance(ffn, dict) else 0
    return config.num_experts or 0


def map_tensors(tensors, config: ModelConfig, *, mla_layout: str = "split", n_vocab: int | None = None) -> GGUFLayout:
    """The GGUF tensor list the converter would write for these HF tensors (see module docstring).

    ``n_vocab``: the tokenizer's real vocabulary size, where known (Gemma 3's converter cuts ``token_embd`` to it).
    """
    _more.check_supported(config, set(ARCH))  # no converter class: say so instead of guessing
    arch = gguf_arch(config)
    _more.check_mapped(config, arch, set(ARCH.values()) | {"nemotron_h_moe", "bert", "t5"})
    config = _with_class_defaults(config)
    declared = _declared(arch)
    fam = {k: _pick(v, declared) for k, v in LAYER_MAP.items()}
    fam.update(FAMILY.get(arch, {}))
    n_layer = config.num_hidden_layers or _n_layer_fallback(config, tensors)
    n_head = config.num_attention_heads or 0
    n_kv = config.num_key_value_heads or n_head
    n_exp = _n_expert(config, arch)
    if config.model_type in ("t5", "mt5", "umt5"):
        return _map_t5(tensors, config)
    if arch in _more.TNM_ARCHES and _more.available():  # converters that are TensorNameMap + a few steps
        return _more.map_tnm(tensors, config, arch, GGUFLayout, GGUFTensor, n_layer, n_head, n_kv, n_exp)
    if config.model_type == "bert":
        return _map_bert(tensors, config)
    out = GGUFLayout(arch=arch, n_layer=n_layer, n_head=n_head, n_head_kv=n_kv, n_expert=n_exp)
    keep_mtp = arch in _KEEPS_MTP
    if keep_mtp and config.num_nextn_predict_layers:
        out.n_layer = n_layer + config.num_nextn_predict_layers  # block_count includes the NextN layers
        out.notes.append(f"{arch}: the converter keeps the {config.num_nextn_predict_layers} NextN/MTP layer(s) "
                         f"(blk.{n_layer}+, counted in block_count = {out.n_layer}); --no-mtp was not assumed")
    is_ds = arch == "deepseek2"
    if is_ds:
        out.mla_layout = mla_layout
        if mla_layout == "split":
            out.n_head_kv = 1
    names = {t.name for t in tensors}
    tied_ds = arch in _DROP_TIED_HEAD and bool(config.tie_word_embeddings)
    experts: dict[tuple[int, str, str], dict[int, tuple]] = {}
    by_name: dict[str, GGUFTensor] = {}

    def drop(reason: str, t) -> None:
        out.dropped[reason] = out.dropped.get(reason, 0) + 1
        out.dropped_params += _numel(_shape_of(t))

    def add(gname: str, ne: tuple[int, ...], comp: str, layer: int | None, src: str) -> None:
        g = GGUFTensor(gname, ne, _base_type(gname, ne), comp, layer, (src,))
        if arch == "dbrx" and g.n_dims > 1 and "_norm.weight" not in gname:
            g.base_type = "F16"  # DbrxModel.tensor_force_quant: every tensor of 2+ dims to the 16-bit type
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
        if comp in C.TOWERS:
            drop("vision/audio tower (written to a separate mmproj GGUF)", t)
            continue
        rest = _PREFIX.sub("", name.replace("language_model.", "") if "language_model." in name else name)
        if arch in _DROP_BIASES and name.endswith(".bias"):
            drop(f"{arch}: bias tensors (all zero; the converter skips them)", t)
            continue
        if rest.startswith(("mtp.", "mtp_")) or rest.startswith(("mtp_block.", "mtp_emb_norm", "mtp_hidden_norm",
                                                                  "mtp_linear_proj")):
            drop("MTP / next-token layers (the converter skips them)", t)
            continue
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
            if g == "token_embd" and arch == "gemma3" and n_vocab and len(ne) == 2 and ne[1] > n_vocab:
                out.notes.append(f"token_embd cut from {ne[1]} to the tokenizer's {n_vocab} rows "
                                 "(Gemma3Model removes out-of-vocabulary rows)")
                ne = (ne[0], n_vocab)
            elif g == "token_embd" and arch == "gemma3" and not n_vocab:
                out.notes.append("Gemma 3: the converter cuts token_embd to the tokenizer's vocabulary; without the "
                                 "tokenizer the config's vocab_size was kept")
            add(f"{g}.{suffix}", ne, comp, None, name)
            continue
        layer, sub = int(m.group(1)), m.group(2)
        if n_layer and layer >= n_layer and not keep_mtp:
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
        sm = _SPLIT_EXPERT.match(sub)
        if sm:
            _split_experts(add, config, layer, sm.group(1) or sm.group(2), shape, name, n_exp)
            continue
        if _special(arch, add, config, layer, sub, shape, name, n_exp):
            continue
        base, _, suffix = sub.rpartition(".")
        if base == "" or suffix not in ("weight", "bias"):
            base, suffix = sub, "weight"  # e.g. self_attn.sinks (no .weight in HF)
        if sub == "mlp.gate.e_score_correction_bias":
            add(f"blk.{layer}.exp_probs_b.bias", tuple(reversed(shape)), C.ROUTER, layer, name)
            continue
        if sub.endswith("e_score_correction_bias"):  # filter_tensors: ..._bias -> ....bias
            base, suffix = sub[: -len("_bias")], "bias"
        if sub.endswith(".dt_bias"):  # Mamba-2 / Qwen3-Next: dt_bias -> dt_proj.bias
            base, suffix = sub[: -len(".dt_bias")] + ".dt_proj", "bias"
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
        bare = ("*", g) in _NO_SUFFIX or ((arch, g) in _NO_SUFFIX and suffix == "weight")
        gname = f"blk.{layer}.{g}" + ("" if bare else f".{suffix}")
        ne = _ssm_shape(arch, g, ne, config)
        add(gname, ne, comp, layer, name)

    for (layer, gbase, kind), ex in sorted(experts.items()):
        shapes = {s for s, _ in ex.values()}
        shape = next(iter(shapes))
        ne = tuple(reversed(shape)) + (len(ex),)
        add(f"blk.{layer}.{gbase}.{kind}", ne, C.EXPERTS, layer, f"{len(ex)} experts")

    if "output.weight" not in by_name and arch == "gpt2" and "token_embd.weight" in by_name:
        e = by_name["token_embd.weight"]
        add("output.weight", e.ne, C.LM_HEAD, None, "copy of wte (the GPT-2 converter writes the tied head)")
    if arch in _PER_LAYER_KV and not any(t.name in ("blk.0.attn_k.weight", "blk.0.attn_qkv.weight")
                                          for t in out.tensors):
        out.n_gqa = 0  # head_count_kv[0] = 0: llama.cpp's n_gqa() is 0 for this file
    _generated(out, add, config, names)
    return out


def _ssm_shape(arch: str, g: str, ne: tuple[int, ...], config: ModelConfig) -> tuple[int, ...]:
    """Reshapes the state-space converters apply (conversion/mamba.py, qwen.py, falcon_h1.py)."""
    if g == "ssm_conv1d" and len(ne) == 3 and ne[1] == 1:
        return (ne[0], ne[2])  # (C, 1, K).squeeze() -> (C, K)
    if arch in _MAMBA2:
        if g in ("ssm_a", "ssm_d") and len(ne) == 1:
            return (1, ne[0])  # reshape (n,) -> (n, 1)
        if g == "ssm_norm" and len(ne) == 1:
            groups = _num(config, "n_groups", "mamba_n_groups", "ssm_n_groups") or 1
            if ne[0] % groups == 0:
                return (ne[0] // groups, groups)  # reshape (n_group, d_inner / n_group)
    return ne


def _special(arch, add, config, layer, sub, shape, name, n_exp) -> bool:
    """Per-family splits of fused projections (True when handled)."""
    p = f"blk.{layer}."
    if sub == "linear_attn.in_proj_qkvz.weight" and len(shape) == 2:
        # Qwen3NextModel: [q, k, v, z] per key head -> attn_qkv (q, k, v) + attn_gate (z)
        nv, hv = _num(config, "linear_num_value_heads"), _num(config, "linear_value_head_dim")
        z = nv * hv
        if z and shape[0] > z:
            add(p + "attn_qkv.weight", (shape[1], shape[0] - z), C.ATTENTION, layer, name)
            add(p + "attn_gate.weight", (shape[1], z), C.ATTENTION, layer, name)
            return True
    if sub == "attention.wqkv.weight" and len(shape) == 2:
        # InternLM2Model: grouped wqkv -> attn_q, attn_k, attn_v
        nh, nkv = config.num_attention_heads or 0, config.num_key_value_heads or 0
        if nh and nkv and shape[0] % (nh + 2 * nkv) == 0:
            hd = shape[0] // (nh + 2 * nkv)
            add(p + "attn_q.weight", (shape[1], nh * hd), C.ATTENTION, layer, name)
            add(p + "attn_k.weight", (shape[1], nkv * hd), C.ATTENTION, layer, name)
            add(p + "attn_v.weight", (shape[1], nkv * hd), C.ATTENTION, layer, name)
            return True
    if arch in ("ernie4_5", "ernie4_5-moe") and len(shape) == 2:
        if sub == "self_attn.qkv_proj.weight":  # Ernie4_5Model splits fused q/k/v
            nh, nkv = config.num_attention_heads or 0, config.num_key_value_heads or 0
            hd = config.head_dim or 0
            if nh and nkv and hd and shape[0] == (nh + 2 * nkv) * hd:
                for g, rows in (("attn_q", nh * hd), ("attn_k", nkv * hd), ("attn_v", nkv * hd)):
                    add(p + f"{g}.weight", (shape[1], rows), C.ATTENTION, layer, name)
                return True
        if sub == "mlp.up_gate_proj.weight" and shape[0] % 2 == 0:
            for g in ("ffn_gate", "ffn_up"):
                add(p + f"{g}.weight", (shape[1], shape[0] // 2), C.MLP, layer, name)
            return True
    if sub == "shared_mlp.input_linear.weight" and len(shape) == 2 and shape[0] % 2 == 0:
        # GraniteMoeModel: fused shared gate/up -> ffn_{gate,up}_shexp (MoE) or ffn_{gate,up} (dense)
        sfx = "_shexp" if n_exp else ""
        for g in ("ffn_gate", "ffn_up"):
            add(p + f"{g}{sfx}.weight", (shape[1], shape[0] // 2), C.MLP, layer, name)
        return True
    if sub == "shared_mlp.output_linear.weight" and not n_exp:
        add(p + "ffn_down.weight", tuple(reversed(shape)), C.MLP, layer, name)
        return True
    return False


def _split_experts(add, config, layer, proj, shape, name, n_exp) -> None:
    """3-D or flattened expert tensors the converter splits or views: GraniteMoE ``input_linear`` (E, 2F, H) ->
    gate + up, ``output_linear`` (E, H, F) -> down; DBRX ``w1``/``v1``/``w2`` (E*F, H) -> (E, F, H) [w2 permuted]."""
    p = f"blk.{layer}."
    if proj == "input_linear" and len(shape) == 3:
        E, F2, H = shape
        for g in ("ffn_gate_exps", "ffn_up_exps"):
            add(p + g + ".weight", (H, F2 // 2, E), C.EXPERTS, layer, name)
    elif proj == "output_linear" and len(shape) == 3:
        E, H, F = shape
        add(p + "ffn_down_exps.weight", (F, H, E), C.EXPERTS, layer, name)
    elif len(shape) == 2 and n_exp and shape[0] % n_exp == 0:
        F, H = shape[0] // n_exp, shape[1]
        g = EXPERT_PROJ[proj]
        add(p + g + ".weight", (F, H, n_exp) if proj == "w2" else (H, F, n_exp), C.EXPERTS, layer, name)


def _fused_experts(out, add, config, layer, proj, kind, shape, name) -> None:
    """3-D expert tensors (transformers v5 fused layout, Llama 4, Qwen3-VL-MoE, gpt-oss MXFP4 ``_blocks``).

    F (the expert width) comes from the stored shape where it can: the dimension that is not the hidden size."""
    E = shape[0]
    H = config.hidden_size or 0
    F = config.moe_intermediate_size or config.intermediate_size or 0
    if kind == "" and len(shape) == 3 and H in shape[1:]:
        other = shape[2] if shape[1] == H else shape[1]
        F = other // 2 if proj == "gate_up_proj" else other
    if kind == "_bias":
        if proj == "gate_up_proj":
            add(f"blk.{layer}.ffn_gate_exps.bias", (F, E), C.EXPERTS, layer, name)
            add(f"blk.{layer}.ffn_up_exps.bias", (F, E), C.EXPERTS, layer, name)
        else:
            add(f"blk.{layer}.{EXPERT_PROJ[proj]}.bias", (H if proj == "down_proj" else F, E), C.EXPERTS, layer, name)
        return
    names = ([f"blk.{layer}.ffn_gate_exps.weight", f"blk.{layer}.ffn_up_exps.weight"] if proj == "gate_up_proj"
             else [f"blk.{layer}.{EXPERT_PROJ[proj]}.weight"])
    for gname in names:
        add(gname, (F, H, E) if proj == "down_proj" else (H, F, E), C.EXPERTS, layer, name)
        if kind == "_blocks":
            out.tensors[-1].base_type = "MXFP4"  # GptOssModel repacks MXFP4 blocks as MXFP4


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
    if out.arch in _LLAMA_CLASS and rtype == "llama3" and hd:
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
