"""LiquidAI LFM2 and LFM2-MoE: each layer is a gated short convolution (``conv``: ``in_proj`` 3H x H, depthwise
``conv`` (H, 1, conv_L_cache), ``out_proj``) or grouped-query attention with per-head q/k layernorms, as
``layer_types`` says (older configs: ``full_attn_idxs``); then a SwiGLU ``feed_forward`` (w1/w3/w2), or for
LFM2-MoE after ``num_dense_layers`` a MoE block (``gate``, per-expert w1/w3/w2, the F32 ``expert_bias`` buffer when
``use_expert_bias``). ``operator_norm`` / ``ffn_norm`` per layer, ``embedding_norm`` at the end, tied head.

A conv layer keeps a constant per-sequence state (H x conv_L_cache values), no per-token K/V
(``mixers.state_shapes(d, "short_conv")``). Checked against transformers 5.23's meta build
(fixtures/oracle/transformers__lfm2*, transformers__lfm2_moe*).
"""

from __future__ import annotations

from ...classify import ATTENTION, EMBEDDING, EXPERTS, LM_HEAD, MLP, NORM, ROUTER
from ..decoder import Spec, SpecFamily
from ..engine import PredictionError, glu_mlp, linear, norm

TF = "transformers 5.23 meta-device build (fixtures/oracle/transformers__{})"
W = ("w1", "w3", "w2")


def layer_types(d) -> list[str]:
    """``conv`` or ``attention`` for each layer."""
    lt = d.get("layer_types")
    if isinstance(lt, list) and lt:
        out = ["conv" if str(t) == "conv" else "attention" for t in lt[:d.L]]
        return out + ["attention"] * (d.L - len(out))
    idx = d.get("full_attn_idxs")
    if isinstance(idx, list):
        s = {i for i in idx if isinstance(i, int)}
        return ["attention" if i in s else "conv" for i in range(d.L)]
    return ["attention"] * d.L


def dense_width(d) -> int:
    """Lfm2MLP: with block_auto_adjust_ff_dim, int(2 I / 3), times block_ffn_dim_multiplier, rounded up to a
    multiple of block_multiple_of."""
    I = d.get("block_ff_dim") or d.I  # Lfm2Config reads an older block_ff_dim as intermediate_size
    if d.get("block_auto_adjust_ff_dim", True) and d.mt == "lfm2":
        I = int(2 * I / 3)
        mult = d.get("block_ffn_dim_multiplier", 1.0)
        if mult is not None:
            m = int(d.get("block_multiple_of", 256) or 256)
            I = int(mult * I)
            I = m * ((I + m - 1) // m)
    return I


def _lfm2(s, d, layout):
    d.need("H", "L", "nh", "kv", "hd", "I", "V")
    H, hd = d.H, d.hd
    K = d.get("conv_L_cache", 3)
    if isinstance(K, bool) or not isinstance(K, int) or not 0 < K <= 1024:
        raise PredictionError("config.json gives no usable value for conv_L_cache")
    cb = bool(d.get("conv_bias", False))
    moe = d.mt == "lfm2_moe"
    dense = int(d.get("num_dense_layers", 2) or 0) if moe else d.L
    yield "model.embed_tokens.weight", (d.V, H), EMBEDDING, None
    for i, kind in enumerate(layer_types(d)):
        p = f"model.layers.{i}"
        if kind == "conv":
            c = p + ".conv"
            yield c + ".conv.weight", (H, 1, K), ATTENTION, None
            if cb:
                yield c + ".conv.bias", (H,), ATTENTION, None
            yield from linear(c + ".in_proj", 3 * H, H, ATTENTION, cb)
            yield from linear(c + ".out_proj", H, H, ATTENTION, cb)
        else:
            a = p + ".self_attn"
            yield from linear(a + ".q_proj", d.nh * hd, H, ATTENTION)
            yield from linear(a + ".k_proj", d.kv * hd, H, ATTENTION)
            yield from linear(a + ".v_proj", d.kv * hd, H, ATTENTION)
            yield from linear(a + ".out_proj", H, d.nh * hd, ATTENTION)
            yield from norm(a + ".q_layernorm", hd, NORM)
            yield from norm(a + ".k_layernorm", hd, NORM)
        f = p + ".feed_forward"
        if i < dense:
            yield from glu_mlp(f, H, dense_width(d), MLP, names=W)
        else:
            d.need("E", "MI")
            yield f + ".gate.weight", (d.E, H), ROUTER, None
            for j in range(d.E):
                yield from glu_mlp(f"{f}.experts.{j}", H, d.MI, EXPERTS, names=W)
            if d.get("use_expert_bias", True):
                yield f + ".expert_bias", (d.E,), ROUTER, "F32"
        yield from norm(p + ".operator_norm", H, NORM)
        yield from norm(p + ".ffn_norm", H, NORM)
    yield from norm("model.embedding_norm", H, NORM)
    if not d.tied:
        yield from linear("lm_head", d.V, H, LM_HEAD, kind=None)


class _Liquid(SpecFamily):
    def tensors(self, d, layout):
        return _lfm2(self.spec, d, layout)


FAMILY_LIST = [
    _Liquid(Spec(("lfm2",), ("Lfm2ForCausalLM",), TF.format("lfm2"), tie=True,
                 defaults={"vocab_size": 65536, "hidden_size": 2560, "intermediate_size": 12288,
                           "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
                           "tie_word_embeddings": True, "conv_bias": False, "conv_L_cache": 3,
                           "block_multiple_of": 256, "block_ffn_dim_multiplier": 1.0,
                           "block_auto_adjust_ff_dim": True})),
    _Liquid(Spec(("lfm2_moe",), ("Lfm2MoeForCausalLM",), TF.format("lfm2_moe"), tie=True,
                 defaults={"vocab_size": 65536, "hidden_size": 2048, "intermediate_size": 7168,
                           "moe_intermediate_size": 1792, "num_hidden_layers": 32, "num_attention_heads": 32,
                           "num_key_value_heads": 8, "tie_word_embeddings": True, "conv_bias": False,
                           "conv_L_cache": 3, "num_dense_layers": 2, "num_experts_per_tok": 4, "num_experts": 32,
                           "use_expert_bias": True})),
]
MODEL_TYPES = ()
