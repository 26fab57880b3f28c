"""Which component each tensor belongs to, its layer and expert index. Names only (and the config's layer count).

The patterns are tables, checked in order; the first match wins. They cover the naming schemes of transformers'
decoder, encoder and encoder-decoder families, fused and per-expert MoE layouts, and quantization side-tensors.
"""

from __future__ import annotations

import operator
import re
from typing import NamedTuple

from ..readers.config import ModelConfig

EMBEDDING = "embedding"
POSITION = "position_embedding"
ATTENTION = "attention"
MLP = "mlp"
EXPERTS = "moe_experts"
SHARED = "shared_experts"
ROUTER = "router"
NORM = "norm"
LM_HEAD = "lm_head"
MTP = "mtp"
VISION = "vision_tower"
PROJECTOR = "projector"  #: multimodal projector / patch merger between a tower and the language model
AUDIO = "audio_tower"
SPEECH = "speech_generator"  #: speech output stack of omni models: talker decoder + token2wav / code2wav vocoder
QUANT = "quant_scales"
BUFFER = "buffer"
OTHER = "other"

COMPONENTS = (EMBEDDING, POSITION, ATTENTION, MLP, EXPERTS, SHARED, ROUTER, NORM, LM_HEAD, MTP,
              VISION, PROJECTOR, AUDIO, SPEECH, QUANT, BUFFER, OTHER)
TOWERS = (VISION, PROJECTOR, AUDIO, SPEECH)  #: components outside the language model

COMPONENT_LABELS = {
    EMBEDDING: "embedding", POSITION: "position embedding", ATTENTION: "attention", MLP: "dense MLP",
    EXPERTS: "MoE routed experts", SHARED: "MoE shared experts", ROUTER: "MoE router", NORM: "norms",
    LM_HEAD: "LM head", MTP: "multi-token prediction", VISION: "vision tower", PROJECTOR: "multimodal projector",
    AUDIO: "audio tower", SPEECH: "speech generator (talker + vocoder)",
    QUANT: "quantization scales/zeros", BUFFER: "buffers (non-trainable)", OTHER: "other",
}

# Quantization side-tensors: never weights.
QUANT_SUFFIX = re.compile(
    r"(\.weight_scale_inv|\.weight_scale|\.input_scale|\.output_scale|\.k_scale|\.v_scale|\.scales|\.qzeros"
    r"|\.g_idx|\.absmax|\.quant_map|\.nested_absmax|\.nested_quant_map|\.quant_state\.[\w.]+|_scales"
    r"|\.weight_zero_point|\.weight_global_scale|\.input_global_scale|\.zeros|\.SCB|\.weight_format"
    r"|\.scale_inv|\.zero_point|\.weight_shape|\.biases)$")
BUFFER_PAT = re.compile(r"(position_ids|\.attn\.bias|\.attn\.masked_bias|attention\.bias|attention\.masked_bias"
                        r"|rotary_emb\.inv_freq|\.inv_freq)$")
VISION_PAT = re.compile(r"(^|\.)(vision_tower|vision_model|visual|vision_encoder|vision|image_encoder|vit"
                        r"|multi_modal_projector|mm_projector|vision_projection|image_newline"
                        r"|high_res_vision_model|high_res_vision_neck|high_res_vision_proj|high_res_vision_alpha"
                        r")(\.|$)")
#: projectors / connectors (checked before the tower patterns): LLaVA-style ``multi_modal_projector``, Gemma 3n's
#: ``embed_vision`` / ``embed_audio``, Idefics3's ``connector``, Qwen-VL's patch mergers
PROJECTOR_PAT = re.compile(r"(^|\.)(multi_modal_projector|mm_projector|vision_projection|embed_vision|embed_audio"
                           r"|connector|audio_projection|merger|deepstack_merger_list|merger_list|aligner"
                           r"|resampler_model)(\.|$)")
AUDIO_PAT = re.compile(r"(^|\.)(audio_tower|audio_model|audio_encoder|speech_encoder|audio_projection"
                       r"|whisper_encoder)(\.|$)")
#: Qwen2.5-Omni / Qwen3-Omni speech output: ``talker.*`` (codec decoder), ``token2wav.*`` / ``code2wav.*`` (vocoder)
SPEECH_PAT = re.compile(r"^(talker|token2wav|code2wav)\.")
MTP_PAT = re.compile(r"(^|\.)(mtp|nextn|mtp_layers|next_n)(\.|_|\d)")

# (regex, component) in order; applied after the checks above.
RULES: list[tuple[re.Pattern, str]] = [
    (re.compile(r"\.altup_(unembed_)?projections\."), OTHER),  # Gemma 3n AltUp stream projections (not an MLP)
    (re.compile(r"(shared_experts?|shared_mlp)\.(?!gate\.weight)"), SHARED),
    (re.compile(r"(\.shared_expert_gate\.|\.router\.|\.mlp\.gate\.|\.ffn\.gate\.|\.block_sparse_moe\.gate\.|\.moe\.gate\."
                r"|e_score_correction_bias|\.gate\.e_score|\.router_logits|\.mlp\.router$|\.expert_bias)"), ROUTER),
    (re.compile(r"(\.experts\.|\.block_sparse_moe\.experts|\.moe\.experts|\.block_sparse_moe\.(input|output)_linear)"), EXPERTS),
    (re.compile(r"(norm|layernorm|layer_norm|ln_\w+|ln\d*|LayerNorm|_ln|\.ln)(\.|_|$)|(^|\.)(ln_f|norm)\."), NORM),
    (re.compile(r"^(?:model\.|transformer\.|bert\.|roberta\.|distilbert\.|electra\.|mpnet\.|language_model\.|thinker\.)?(lm_head|embed_out|output|cls|score|classifier|qa_outputs|pooler)\.|^head\.weight$"
                r"|\.shared_head\.head\."
                r"|^(?:vocab_transform|vocab_projector|pre_classifier|discriminator_predictions|generator_predictions"
                r"|generator_lm_head|sequence_summary)\.|^head\.(?:dense|norm)\.|^decoder\.(?:weight|bias)$"), LM_HEAD),
    (re.compile(r"(^|\.)(embed_tokens|embed_tokens_per_layer|wte|word_embeddings|tok_embeddings|token_embd|embed_in"
                r"|shared|embedding|embeddings_project"
                r"|token_type_embeddings|embeddings\.tok|wordembeddings)(\.|$)"), EMBEDDING),
    (re.compile(r"(^|\.)(wpe|position_embeddings|embed_positions|relative_attention_bias|pos_embed)(\.|$)"), POSITION),
    (re.compile(r"(self_attn|\.attn\.|\.linear_attn\.|attention|SelfAttention|EncDecAttention|cross_attn|encoder_attn|\.attn$"
                r"|\.q_proj|\.k_proj|\.v_proj|\.o_proj|\.qkv_proj|\.sinks$|\.c_attn|\.wq\.|\.wk\.|\.wv\.|\.wo\.)"),
     ATTENTION),
    (re.compile(r"(\.mlp\.|feed_forward|\.ffn\.|DenseReluDense|\.intermediate\.|\.output\.dense|\.fc\d|\.c_fc"
                r"|\.c_proj|gate_proj|up_proj|down_proj|\.w1\.|\.w2\.|\.w3\.|\.mlp$)"), MLP),
]


class Placement(NamedTuple):  # a tuple: made and hashed in C (one per layer x expert x component: ~50k for DeepSeek-V3)
    component: str
    layer: str | None = None  #: "12", or "encoder.3"/"decoder.3" for encoder-decoder stacks
    layer_num: int | None = None
    expert: int | None = None
    is_mtp: bool = False
    base: str | None = None  #: the component the name alone gives, before the MTP rule (what an MTP layer holds)


def _mtp_start(config: ModelConfig | None) -> int | None:
    if config is None or not config.num_nextn_predict_layers or config.num_hidden_layers is None:
        return None
    return config.num_hidden_layers


_NUM = re.compile(r"(?<=\.)\d+(?=\.|$)|^\d+(?=\.)")
_LAYER_T = re.compile(r"(?:^|\.)(?:(encoder|decoder|enc|dec)\.)?(?:layers|layer|h|blocks|block|decoder_layers|blk)\.#\.")
_STACKS = {"enc": "encoder", "dec": "decoder"}  # GGUF's enc.blk.N / dec.blk.N
_EXPERT_T = re.compile(r"\.experts\.#\.")


_TEMPLATES: dict[str, tuple] = {}  #: name with its numbers as "#" -> what the name pattern alone decides


def _template(tmpl: str) -> tuple[str, int | None, str | None, int | None, bool]:
    """(component, slot of the layer number, encoder/decoder stack, slot of the expert number, MTP by name) of a
    name pattern. Computed once per pattern: a checkpoint has thousands of tensors per pattern, so the regex
    tables run a few hundred times, not once per tensor."""
    got = _TEMPLATES.get(tmpl)
    if got is not None:
        return got
    layer_slot = expert_slot = stack = None
    m = _LAYER_T.search(tmpl)
    if m:
        layer_slot = tmpl.count("#", 0, m.end() - 1) - 1
        stack = _STACKS.get(m.group(1), m.group(1))
    e = _EXPERT_T.search(tmpl)
    if e:
        expert_slot = tmpl.count("#", 0, e.end() - 1) - 1
    if len(_TEMPLATES) > 100_000:
        _TEMPLATES.clear()
    got = _TEMPLATES[tmpl] = (component_of(tmpl), layer_slot, stack, expert_slot, bool(MTP_PAT.search(tmpl)))
    return got


_MEMO: dict[str, Placement] = {}  #: name -> placement before the MTP rule (which depends on the config)
_MEMO_MTP: dict[str, Placement] = {}
_MEMO_MAX = 1_000_000


def classify(name: str, config: ModelConfig | None = None, mtp_start: int | None = None) -> Placement:
    """Component, layer and expert of a tensor name. Memoised: every stage of a report asks about the same names."""
    pl = _MEMO.get(name)
    if pl is None:
        if len(_MEMO) >= _MEMO_MAX:
            _MEMO.clear()
            _MEMO_MTP.clear()
        pl = _MEMO[name] = _classify(name)
    if mtp_start is None and config is not None:
        mtp_start = _mtp_start(config)
    if pl.is_mtp or (mtp_start is not None and pl.layer_num is not None and pl.layer_num >= mtp_start
                     and "." not in pl.layer):
        m = _MEMO_MTP.get(name)
        if m is None:
            m = _MEMO_MTP[name] = Placement(pl.component if pl.component == QUANT else MTP, pl.layer, pl.layer_num,
                                            pl.expert, True, pl.base)
        return m
    return pl


def classify_many(names: list[str], config: ModelConfig | None = None,
                  mtp_start: int | None = None) -> list[Placement]:
    """:func:`classify` of every name, in order, with the per-name work done once per new name and the common
    case (no MTP rule in play) answered by one list comprehension over the memo."""
    memo = _MEMO
    if len(memo) + len(names) >= _MEMO_MAX:
        memo.clear()
        _MEMO_MTP.clear()
    for n in names:
        if n not in memo:
            memo[n] = _classify(n)
    if mtp_start is None and config is not None:
        mtp_start = _mtp_start(config)
    out = [memo[n] for n in names]
    if mtp_start is not None or any(map(_IS_MTP, out)):  # MTP placements depend on the config: the general rule
        return [classify(n, config, mtp_start) for n in names]
    return out


_IS_MTP = operator.attrgetter("is_mtp")


def layer_of(name: str) -> str | None:
    """The layer key of a tensor name ("12", "encoder.3"), or None outside the layer stacks."""
    return classify(name).layer


_PLACEMENTS: dict[tuple, Placement] = {}  #: (pattern facts, layer part, expert part) -> shared Placement


_SPLIT = re.compile(r"\.(\d+)(?=\.|$)")  #: one pass: the pattern's pieces and the numbers between them


def _classify(name: str) -> Placement:
    if "#" in name:  # a literal '#' would be counted as a number's place in the pattern: mark it otherwise
        name = name.replace("#", "\x1f")
    if name[:1].isdigit():  # a leading number ("0.weight"): the general (slower) pattern
        nums = _NUM.findall(name)
        tmpl = _NUM.sub("#", name)
    else:
        pieces = _SPLIT.split(name)
        nums = pieces[1::2]
        tmpl = ".#".join(pieces[::2]) if nums else name
    return _placement(tmpl, nums)


def _placement(tmpl: str, nums) -> Placement:
    """The shared Placement of a name whose numbers are ``nums`` and whose pattern (numbers as '#') is ``tmpl``."""
    t = _template(tmpl)
    lp = nums[t[1]] if t[1] is not None else None
    ep = nums[t[3]] if t[3] is not None else None
    pl = _PLACEMENTS.get((t, lp, ep))
    return pl if pl is not None else _new_placement(t, lp, ep)


def _new_placement(t: tuple, lp: str | None, ep: str | None) -> Placement:
    """The Placement of template facts ``t`` with layer and expert numbers ``lp``/``ep`` (digit strings), made
    once and shared."""
    comp, layer_slot, stack, expert_slot, mtp_name = t
    key = (t, lp, ep)
    pl = _PLACEMENTS.get(key)
    if pl is None:
        layer = layer_num = expert = None
        if lp is not None:
            got = _LAYERS.get((stack, lp))
            if got is None:
                n = int(lp)
                got = _LAYERS[(stack, lp)] = (f"{stack}.{n}" if stack else str(n), n)
            layer, layer_num = got
        if ep is not None:
            expert = int(ep)
        if len(_PLACEMENTS) > _MEMO_MAX:
            _PLACEMENTS.clear()
            _LAYERS.clear()
            _SHARED.clear()
        pl = Placement(MTP if (mtp_name and comp != QUANT) else comp, layer, layer_num, expert, mtp_name, comp)
        pl = _PLACEMENTS[key] = _SHARED.setdefault(pl, pl)
    return pl


_LAYERS: dict[tuple, tuple] = {}  #: (stack, layer digits) -> (layer key, layer number)
_SHARED: dict[Placement, Placement] = {}  #: one object per distinct placement


def component_of(name: str) -> str:
    if name.startswith(_GGUF_HEADS) and _gguf_names().is_gguf_name(name):  # llama.cpp names: gguf's table
        return _gguf_names().component(name)
    if QUANT_SUFFIX.search(name):
        return QUANT
    if BUFFER_PAT.search(name):
        return BUFFER
    if SPEECH_PAT.match(name):
        return SPEECH
    if PROJECTOR_PAT.search(name):
        return PROJECTOR
    if VISION_PAT.search(name):
        return VISION
    if AUDIO_PAT.search(name):
        return AUDIO
    for pat, comp in RULES:
        if pat.search(name):
            return comp
    return OTHER


_GGUF_HEADS = ("blk.", "enc.", "dec.", "v.", "a.", "mm.", "token_", "output_norm", "rope_", "position_embd",
               "per_layer_", "altup_", "resampler.")


def _gguf_names():
    from .gguf import names

    return names


def packing_factor(name: str, dtype: str, config: ModelConfig | None) -> int:
    """Logical parameters per stored element for packed low-bit weights (1 for ordinary tensors)."""
    qc = (config.quantization_config if config else None) or {}
    method = str(qc.get("quant_method") or "").lower()
    bits = qc.get("bits") or qc.get("w_bit") or 4
    if name.endswith(".qweight") and dtype in ("I32", "U32"):
        return 32 // int(bits)
    if name.endswith(".qweight") and dtype in ("I8", "U8"):
        return 8 // int(bits)
    if name.endswith(".weight_packed") and dtype in ("I32", "U32"):
        return 32 // int(qc.get("config_groups", {}).get("group_0", {}).get("weights", {}).get("num_bits", bits))
    if name.endswith("_blocks") and dtype == "U8":  # MXFP4 (gpt-oss): two e2m1 values per byte
        return 2
    if method == "bitsandbytes" and dtype == "U8" and name.endswith(".weight") and (
            qc.get("load_in_4bit") or qc.get("_load_in_4bit")):
        return 2
    return 1
