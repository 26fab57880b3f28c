"""DeepSeek-V2 / V3 (and R1): multi-head latent attention, routed + shared experts, FP8 blocks, MTP layers.

Attention (MLA): without ``q_lora_rank`` a plain ``q_proj`` (heads x (nope + rope), H); with it a low-rank
``q_a_proj`` (q_lora_rank x H) + ``q_a_layernorm`` + ``q_b_proj``. Keys/values: ``kv_a_proj_with_mqa``
((kv_lora_rank + rope) x H), ``kv_a_layernorm``, ``kv_b_proj`` (heads x (nope + v) x kv_lora_rank), ``o_proj``
(H x heads * v).
MLP: the first ``first_k_dense_replace`` layers (and those off ``moe_layer_freq``) are dense (intermediate_size);
the others hold ``n_routed_experts`` experts of ``moe_intermediate_size``, the router ``gate`` (experts x H; V3
adds the F32 ``e_score_correction_bias`` when ``topk_method`` is ``noaux_tc``) and ``shared_experts`` of
n_shared_experts x moe_intermediate_size.
FP8 (``quantization_config.quant_method == "fp8"``, V3/R1 on the Hub): every Linear weight of the decoder
layers is F8_E4M3 with an F32 ``weight_scale_inv`` grid of ceil(out/128) x ceil(in/128); embeddings, norms, the
router and the LM head stay BF16.
MTP: ``num_nextn_predict_layers`` extra layers numbered from num_hidden_layers (``model.layers.61`` in V3), each a
full MoE decoder layer plus ``enorm``/``hnorm``, ``eh_proj`` (H x 2H, BF16), and their own copies of the
embedding (``embed_tokens``) and head (``shared_head.norm``, ``shared_head.head``). transformers does not build
them, but the Hub checkpoints carry them.
"""

from ...classify import ATTENTION, EMBEDDING, EXPERTS, LM_HEAD, MLP, MTP, NORM, ROUTER, SHARED
from ..engine import glu_mlp, linear, norm

MODEL_TYPES = ("deepseek_v2", "deepseek_v3")
TIE_DEFAULT = False
DEFAULT_DTYPE = "F32"


def default_layout(c) -> dict:
    return {"mtp": True}


def layout_from_names(c, names) -> dict:
    L = c.num_hidden_layers
    return {"mtp": any(n.startswith(f"model.layers.{L}.") for n in names)}


def is_moe_layer(d, i: int) -> bool:
    freq = int(d.get("moe_layer_freq") or 1)
    return d.E > 0 and i >= int(d.c.first_k_dense_replace or 0) and i % freq == 0


def _attention(p, d, c):
    a = d.get("attention_bias") is True
    nope, rope, v = d.c.qk_nope_head_dim, d.c.qk_rope_head_dim, d.c.v_head_dim
    qr, kvr = d.c.q_lora_rank, d.c.kv_lora_rank
    if qr:
        yield from linear(p + ".q_a_proj", qr, d.H, c.ATT, a)
        yield from norm(p + ".q_a_layernorm", qr, c.NRM)
        yield from linear(p + ".q_b_proj", d.nh * (nope + rope), qr, c.ATT)
    else:
        yield from linear(p + ".q_proj", d.nh * (nope + rope), d.H, c.ATT)
    yield from linear(p + ".kv_a_proj_with_mqa", kvr + rope, d.H, c.ATT, a)
    yield from norm(p + ".kv_a_layernorm", kvr, c.NRM)
    yield from linear(p + ".kv_b_proj", d.nh * (nope + v), kvr, c.ATT)
    yield from linear(p + ".o_proj", d.H, d.nh * v, c.ATT, a)


class _Comp:  # components of an ordinary layer; inside an MTP layer everything is MTP
    ATT, NRM, MLP, EXP, SHR, RTR = ATTENTION, NORM, MLP, EXPERTS, SHARED, ROUTER


class _MtpComp:
    ATT = NRM = MLP = EXP = SHR = RTR = MTP


def _layer(d, i, c):
    p = f"model.layers.{i}"
    yield from _attention(p + ".self_attn", d, c)
    if is_moe_layer(d, i):
        for j in range(d.E):
            yield from glu_mlp(f"{p}.mlp.experts.{j}", d.H, d.MI, c.EXP)
        yield p + ".mlp.gate.weight", (d.E, d.H), c.RTR, None
        if d.get("topk_method") == "noaux_tc":
            yield p + ".mlp.gate.e_score_correction_bias", (d.E,), c.RTR, "F32"
        if d.c.n_shared_experts:
            yield from glu_mlp(p + ".mlp.shared_experts", d.H, d.MI * d.c.n_shared_experts, c.SHR)
    else:
        yield from glu_mlp(p + ".mlp", d.H, d.I, c.MLP)
    yield from norm(p + ".input_layernorm", d.H, c.NRM)
    yield from norm(p + ".post_attention_layernorm", d.H, c.NRM)


def tensors(d, layout):
    d.need("H", "L", "nh", "I", "V")
    c = d.c
    for f in ("qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim", "kv_lora_rank"):
        if not isinstance(getattr(c, f), int) or getattr(c, f) <= 0:
            from ..engine import PredictionError
            raise PredictionError(f"config.json gives no usable value for {f}")
    if d.E:
        d.need("MI")
    yield "model.embed_tokens.weight", (d.V, d.H), EMBEDDING, None
    for i in range(d.L):
        yield from _layer(d, i, _Comp)
    yield from norm("model.norm", d.H, NORM)
    if not d.tied:
        yield from linear("lm_head", d.V, d.H, LM_HEAD, kind=None)
    if layout.get("mtp", True):
        for i in range(d.L, d.L + c.num_nextn_predict_layers):
            p = f"model.layers.{i}"
            yield p + ".embed_tokens.weight", (d.V, d.H), MTP, None
            yield from norm(p + ".enorm", d.H, MTP)
            yield from norm(p + ".hnorm", d.H, MTP)
            yield p + ".eh_proj.weight", (d.H, 2 * d.H), MTP, None
            yield from _layer(d, i, _MtpComp)
            yield from norm(p + ".shared_head.norm", d.H, MTP)
            yield p + ".shared_head.head.weight", (d.V, d.H), MTP, None
