"""More remote-code families (``trust_remote_code`` checkpoints transformers 5.23 has no class for), each
written from the family's own modeling code and checked in tests/test_arch_remote_more.py against a real
``model.safetensors.index.json`` or a hand derivation on a real config:

- EXAONE 3.0 / 3.5 (``ExaoneForCausalLM``): ``transformer.wte``, per block ``ln_1``,
  ``attn.attention.{q,k,v,out}_proj``, ``ln_2``, ``mlp.c_fc_0`` (gate) / ``c_fc_1`` (up) / ``c_proj``,
  ``transformer.ln_f``, ``lm_head`` unless tied (RMSNorms, no biases);
- Ling / Bailing MoE (``BailingMoeForCausalLM``, Ling-lite/plus) and Ling 2.0 / Ring 2.0
  (``BailingMoeV2ForCausalLM``; both publish model_type ``bailing_moe``): ``model.word_embeddings``, fused
  ``attention.query_key_value`` ((heads + 2 kv) x head_dim; bias when use_bias or use_qkv_bias),
  ``attention.dense``, optional ``query_layernorm``/``key_layernorm`` (use_qk_norm), dense ``mlp`` for the first
  ``first_k_dense_replace`` layers, then ``mlp.gate`` (F32 when router_dtype is fp32; ``gate.expert_bias`` F32
  when moe_router_enable_expert_bias), per-expert gate/up/down and ``mlp.shared_experts`` (num_shared_experts x
  moe_shared_expert_intermediate_size or moe_intermediate_size); V2's ``num_nextn_predict_layers`` MTP layers at
  ``model.layers.<L+k>`` (enorm, hnorm, eh_proj H x 2H, a MoE decoder layer, final_layernorm), the names SGLang's
  loader reads;
- ChatGLM2/3 and GLM-4 (``ChatGLMModel`` / ``ChatGLMForConditionalGeneration``): ``transformer.embedding.
  word_embeddings`` (padded_vocab_size), the persisted ``transformer.rotary_pos_emb.inv_freq`` (kv_channels / 4),
  ``transformer.encoder.layers.N``: input_layernorm, ``self_attention.query_key_value`` ((heads + 2 x
  multi_query_group_num) x kv_channels, bias when add_qkv_bias), ``self_attention.dense``, post_attention_layernorm,
  ``mlp.dense_h_to_4h`` (2 x ffn_hidden_size), ``mlp.dense_4h_to_h``; ``encoder.final_layernorm`` (post_layer_norm),
  ``transformer.output_layer``;
- Baichuan 1/2 (``BaichuanForCausalLM``): Llama naming with one fused ``self_attn.W_pack`` (3H x H); the NormHead
  is stored as ``lm_head.weight``;
- Qwen (v1, ``QWenLMHeadModel``): ``transformer.wte``, ``h.N.ln_1``, ``attn.c_attn`` (3 x heads x kv_channels,
  always with bias), ``attn.c_proj``, ``ln_2``, ``mlp.w1``/``w2`` (intermediate_size / 2 each), ``mlp.c_proj``,
  ``transformer.ln_f``, ``lm_head`` (biases on c_proj/w1/w2 only when no_bias is false).
"""

from __future__ import annotations

from ...classify import ATTENTION, BUFFER, EMBEDDING, EXPERTS, LM_HEAD, MLP, MTP, NORM, ROUTER, SHARED
from ..decoder import CustomFamily, Spec
from ..engine import PredictionError, glu_mlp, linear, norm

HAND = "hand derivation / real index in tests/test_arch_remote_more.py from {}'s remote modeling code"


_Custom = CustomFamily

def _int(v, what, default=None):
    v = default if v is None else v
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0 or v > 10_000_000:
        raise PredictionError(f"config.json gives no usable value for {what}")
    return v


def _head(d, name="lm_head"):
    if not d.tied:
        yield from linear(name, d.V, d.H, LM_HEAD, kind=None)


# ---- EXAONE 3.x

def _exaone(s, d, layout):
    d.need("H", "L", "nh", "kv", "hd", "I", "V")
    H, q, kv = d.H, d.nh * d.hd, d.kv * d.hd
    yield "transformer.wte.weight", (d.V, H), EMBEDDING, None
    for i in range(d.L):
        p = f"transformer.h.{i}"
        yield from norm(p + ".ln_1", H, NORM)
        a = p + ".attn.attention"
        yield from linear(a + ".q_proj", q, H, ATTENTION)
        yield from linear(a + ".k_proj", kv, H, ATTENTION)
        yield from linear(a + ".v_proj", kv, H, ATTENTION)
        yield from linear(a + ".out_proj", H, q, ATTENTION)
        yield from norm(p + ".ln_2", H, NORM)
        yield from glu_mlp(p + ".mlp", H, d.I, MLP, names=("c_fc_0", "c_fc_1", "c_proj"))
    yield from norm("transformer.ln_f", H, NORM)
    yield from _head(d)


# ---- Bailing MoE (Ling v1) and Bailing MoE V2 (Ling 2.0 / Ring 2.0)

def _bailing_layer(d, p, i, moe: bool, comp_attn=ATTENTION):
    H, hd = d.H, d.hd
    qb = bool(d.get("use_bias") or d.get("use_qkv_bias"))
    a = p + ".attention"
    yield from norm(p + ".input_layernorm", H, NORM)
    yield from linear(a + ".query_key_value", (d.nh + 2 * d.kv) * hd, H, comp_attn, qb)
    if d.get("use_qk_norm"):
        yield from norm(a + ".query_layernorm", hd, NORM)
        yield from norm(a + ".key_layernorm", hd, NORM)
    yield from linear(a + ".dense", H, d.nh * hd, comp_attn, bool(d.get("use_bias")))
    m = p + ".mlp"
    if not moe:
        yield from glu_mlp(m, H, _int(d.I, "intermediate_size"), MLP, bool(d.get("use_bias")))
    else:
        E, MI = _int(d.E, "num_experts"), _int(d.MI, "moe_intermediate_size")
        yield m + ".gate.weight", (E, H), ROUTER, "F32" if d.get("router_dtype") == "fp32" else None
        if d.get("moe_router_enable_expert_bias"):
            yield m + ".gate.expert_bias", (E,), ROUTER, "F32"
        for j in range(E):
            yield from glu_mlp(f"{m}.experts.{j}", H, MI, EXPERTS, bool(d.get("use_bias")))
        n = d.get("num_shared_experts") or 0
        if n:
            si = d.get("moe_shared_expert_intermediate_size") or MI
            yield from glu_mlp(m + ".shared_experts", H, int(si) * int(n), SHARED, bool(d.get("use_bias")))
    yield from norm(p + ".post_attention_layernorm", H, NORM)


def _mtp_n(d) -> int:
    n = d.get("num_nextn_predict_layers")
    return n if isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 64 else 0


def _bailing(s, d, layout):
    d.need("H", "L", "nh", "kv", "hd", "V")
    H = d.H
    k = d.get("first_k_dense_replace") or 0
    yield "model.word_embeddings.weight", (d.V, H), EMBEDDING, None
    for i in range(d.L):
        yield from _bailing_layer(d, f"model.layers.{i}", i, bool(d.E) and i >= k)
    yield from norm("model.norm", H, NORM)
    yield from _head(d)
    if layout.get("mtp", True):
        for j in range(d.L, d.L + _mtp_n(d)):
            p = f"model.layers.{j}"
            yield from ((n, sh, MTP, kd) for n, sh, _, kd in norm(p + ".enorm", H, NORM))
            yield from ((n, sh, MTP, kd) for n, sh, _, kd in norm(p + ".hnorm", H, NORM))
            yield from linear(p + ".eh_proj", H, 2 * H, MTP)
            for n, sh, _, kd in _bailing_layer(d, p, j, bool(d.E)):
                yield n, sh, MTP, kd
            yield from ((n, sh, MTP, kd) for n, sh, _, kd in norm(p + ".final_layernorm", H, NORM))


def _bailing_names(c, names) -> dict:
    L = c.num_hidden_layers
    return {"mtp": any(n.startswith(f"model.layers.{L}.") for n in names)}


# ---- ChatGLM2/3, GLM-4 (remote code)

def _chatglm(s, d, layout):
    """ChatGLM2 / ChatGLM3 / GLM-4 (THUDM's remote code; GLM-4-9B-chat before its ``glm`` port). Checked against
    the real GLM-4-9B-chat-layout index in fixtures/real_index/YinghaoHu__LegalHalBench (every name, total_size
    exact). ChatGLM-6B v1 (no ``ffn_hidden_size``) and GLM-4V (a ``vision_config``) have other layouts."""
    if d.get("ffn_hidden_size") is None:
        raise PredictionError("ChatGLM-6B (v1) layout (no ffn_hidden_size) is not covered")
    if d.get("vision_config"):
        raise PredictionError("GLM-4V (chatglm with a vision tower) is not covered")
    H = _int(d.H, "hidden_size")
    L = _int(d.L, "num_layers")
    nh = _int(d.nh, "num_attention_heads")
    V = _int(d.get("padded_vocab_size") or d.V, "padded_vocab_size")
    kvc = _int(d.get("kv_channels"), "kv_channels", H // nh)
    g = _int(d.get("multi_query_group_num"), "multi_query_group_num", nh) if d.get("multi_query_attention") else nh
    F = _int(d.get("ffn_hidden_size"), "ffn_hidden_size")
    nb = not d.get("rmsnorm", True)  # LayerNorm (with bias) unless rmsnorm
    lb = bool(d.get("add_bias_linear", False))
    t = "transformer"
    yield f"{t}.embedding.word_embeddings.weight", (V, H), EMBEDDING, None
    if layout.get("inv_freq", True):
        rot = kvc // 2  # RotaryEmbedding(rotary_dim // 2) over dim = kv_channels / 2: inv_freq has dim / 2 entries
        yield f"{t}.rotary_pos_emb.inv_freq", ((rot + 1) // 2,), BUFFER, None
    for i in range(L):
        p = f"{t}.encoder.layers.{i}"
        yield from norm(p + ".input_layernorm", H, NORM, nb)
        yield from linear(p + ".self_attention.query_key_value", (nh + 2 * g) * kvc, H, ATTENTION,
                          bool(d.get("add_qkv_bias", False)) or lb)
        yield from linear(p + ".self_attention.dense", H, nh * kvc, ATTENTION, lb)
        yield from norm(p + ".post_attention_layernorm", H, NORM, nb)
        yield from linear(p + ".mlp.dense_h_to_4h", 2 * F, H, MLP, lb)
        yield from linear(p + ".mlp.dense_4h_to_h", H, F, MLP, lb)
    if d.get("post_layer_norm", True):
        yield from norm(f"{t}.encoder.final_layernorm", H, NORM, nb)
    if not d.tied:
        yield f"{t}.output_layer.weight", (V, H), LM_HEAD, None


def _chatglm_names(c, names) -> dict:
    return {"inv_freq": any(n.endswith("rotary_pos_emb.inv_freq") for n in names)}


# ---- Baichuan 1/2

def _baichuan(s, d, layout):
    d.need("H", "L", "nh", "I", "V")
    H = d.H
    yield "model.embed_tokens.weight", (d.V, H), EMBEDDING, None
    for i in range(d.L):
        p = f"model.layers.{i}"
        yield from linear(p + ".self_attn.W_pack", 3 * H, H, ATTENTION)
        yield from linear(p + ".self_attn.o_proj", H, H, ATTENTION)
        yield from glu_mlp(p + ".mlp", H, d.I, MLP)
        yield from norm(p + ".input_layernorm", H, NORM)
        yield from norm(p + ".post_attention_layernorm", H, NORM)
    yield from norm("model.norm", H, NORM)
    yield from _head(d)


# ---- Qwen v1

def _qwen(s, d, layout):
    d.need("H", "L", "nh", "I", "V")
    H = d.H
    kvc = _int(d.get("kv_channels"), "kv_channels", H // d.nh)
    proj = d.nh * kvc
    b = not d.get("no_bias", True)
    ff = d.I // 2
    yield "transformer.wte.weight", (d.V, H), EMBEDDING, None
    for i in range(d.L):
        p = f"transformer.h.{i}"
        yield from norm(p + ".ln_1", H, NORM)
        yield from linear(p + ".attn.c_attn", 3 * proj, H, ATTENTION, True)
        yield from linear(p + ".attn.c_proj", H, proj, ATTENTION, b)
        yield from norm(p + ".ln_2", H, NORM)
        yield from linear(p + ".mlp.w1", ff, H, MLP, b)
        yield from linear(p + ".mlp.w2", ff, H, MLP, b)
        yield from linear(p + ".mlp.c_proj", H, ff, MLP, b)
    yield from norm("transformer.ln_f", H, NORM)
    yield from _head(d)


_bailing_v2 = _Custom(Spec(("bailing_moe_v2",), ("BailingMoeV2ForCausalLM",), HAND.format("Ling 2.0 (BailingMoeV2)"),
                           defaults={"use_qk_norm": True, "num_nextn_predict_layers": 0}),
                      _bailing, lambda c: {"mtp": True}, _bailing_names)

FAMILY_LIST = [
    _Custom(Spec(("exaone",), ("ExaoneForCausalLM",), HAND.format("EXAONE 3"), tie=True), _exaone),
    _Custom(Spec(("bailing_moe",), ("BailingMoeForCausalLM",), HAND.format("Ling (BailingMoe)"),
                 defaults={"tie_word_embeddings": False}), _bailing, lambda c: {"mtp": True}, _bailing_names),
    _bailing_v2,
    _Custom(Spec(("chatglm",), ("ChatGLMModel", "ChatGLMForConditionalGeneration"), HAND.format("ChatGLM"),
                 defaults={"tie_word_embeddings": False}), _chatglm, lambda c: {"inv_freq": True}, _chatglm_names),
    _Custom(Spec(("baichuan",), ("BaichuanForCausalLM", "BaiChuanForCausalLM"), HAND.format("Baichuan")), _baichuan),
    _Custom(Spec(("qwen",), ("QWenLMHeadModel",), HAND.format("Qwen (v1)"), defaults={"no_bias": True}), _qwen),
]
MODEL_TYPES = ()
