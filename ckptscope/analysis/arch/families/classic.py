"""Older decoder families with their own tensor names (transformers builds each of them): Phi-1/1.5/2, GPT-NeoX
(Pythia), GPTBigCode (StarCoder, SantaCoder), Falcon (7B/40B/180B, old and new decoder architecture), BLOOM,
OPT, GPT-J, OLMo (v1: LayerNorms without parameters), Apertus (xIELU activation parameters per layer). Each is
checked against transformers 5.23's meta build (fixtures/oracle/transformers__<model_type>*).

What real checkpoints carry besides the parameters (layout options, read off the names when headers exist):
- GPT-NeoX and GPT-J checkpoints written before transformers 4.31 persist the causal mask ``attention.bias``
  (``attn.bias``, BOOL (1, 1, P, P)), ``masked_bias`` (a scalar) and, for GPT-NeoX, ``rotary_emb.inv_freq``;
- BLOOM and OPT checkpoints converted from the original releases are the base model (no ``transformer.`` /
  ``model.`` prefix, no LM head).
"""

from __future__ import annotations

from ...classify import ATTENTION, BUFFER, EMBEDDING, LM_HEAD, MLP, NORM, POSITION
from ..decoder import CustomFamily, Spec, attention, dense_mlp
from ..engine import BUFFERS_DROPPED, PredictionError, linear, norm, saved_by

TF = "transformers 5.23 meta-device build (fixtures/oracle/transformers__{})"


_Custom = CustomFamily

def _pos_int(v, what):
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0 or v > 10_000_000:
        raise PredictionError(f"config.json gives no usable value for {what}")
    return v


def _head(d, name="lm_head", bias=False):
    """The LM head: weight unless tied; a bias is never tied (Phi, GPT-J keep lm_head.bias)."""
    if not d.tied:
        yield name + ".weight", (d.V, d.H), LM_HEAD, None
    if bias:
        yield name + ".bias", (d.V,), LM_HEAD, None


def _old_buffers(c) -> bool:
    """Checkpoints written before transformers 4.31 persist the causal-mask buffers."""
    v = saved_by(c)
    return v is not None and v < BUFFERS_DROPPED


# ---- Phi (phi-1, phi-1.5, phi-2 in the transformers layout)

def _phi(s, d, layout):
    d.need("H", "L", "nh", "kv", "hd", "I", "V")
    H = d.H
    yield "model.embed_tokens.weight", (d.V, H), EMBEDDING, None
    for i in range(d.L):
        p = f"model.layers.{i}"
        a = p + ".self_attn"
        yield from linear(a + ".q_proj", d.nh * d.hd, H, ATTENTION, True)
        yield from linear(a + ".k_proj", d.kv * d.hd, H, ATTENTION, True)
        yield from linear(a + ".v_proj", d.kv * d.hd, H, ATTENTION, True)
        yield from linear(a + ".dense", H, d.nh * d.hd, ATTENTION, True)
        if d.get("qk_layernorm"):
            yield from norm(a + ".q_layernorm", H // d.nh, NORM, True)
            yield from norm(a + ".k_layernorm", H // d.nh, NORM, True)
        yield from linear(p + ".mlp.fc1", d.I, H, MLP, True)
        yield from linear(p + ".mlp.fc2", H, d.I, MLP, True)
        yield from norm(p + ".input_layernorm", H, NORM, True)
    yield from norm("model.final_layernorm", H, NORM, True)
    yield from _head(d, bias=True)


# ---- GPT-NeoX (Pythia, GPT-NeoX-20B)

def _neox_layout(c) -> dict:
    return {"buffers": _old_buffers(c)}


def _neox_names(c, names) -> dict:
    return {"buffers": any(n.endswith(".attention.bias") or n.endswith(".attention.masked_bias")
                           or n.endswith(".rotary_emb.inv_freq") for n in names),
            "inv_freq": any(n.endswith(".rotary_emb.inv_freq") for n in names)}


def _gpt_neox(s, d, layout):
    d.need("H", "L", "nh", "I", "V")
    H, hd = d.H, d.H // d.nh
    b = bool(d.get("attention_bias", True))
    buffers = layout.get("buffers")
    yield "gpt_neox.embed_in.weight", (d.V, H), EMBEDDING, None
    for i in range(d.L):
        p = f"gpt_neox.layers.{i}"
        yield from norm(p + ".input_layernorm", H, NORM, True)
        yield from norm(p + ".post_attention_layernorm", H, NORM, True)
        if buffers:
            P = _pos_int(d.P, "max_position_embeddings")
            yield p + ".attention.bias", (1, 1, P, P), BUFFER, "BOOL"
            yield p + ".attention.masked_bias", (), BUFFER, None
            if layout.get("inv_freq", True):
                pct = d.get("rotary_pct", 1.0)
                rot = int(hd * (pct if isinstance(pct, (int, float)) and 0 < pct <= 1 else 1.0))
                yield p + ".attention.rotary_emb.inv_freq", ((rot + 1) // 2,), BUFFER, None
        yield from linear(p + ".attention.query_key_value", 3 * H, H, ATTENTION, b)
        yield from linear(p + ".attention.dense", H, H, ATTENTION, b)
        yield from linear(p + ".mlp.dense_h_to_4h", d.I, H, MLP, True)
        yield from linear(p + ".mlp.dense_4h_to_h", H, d.I, MLP, True)
    yield from norm("gpt_neox.final_layer_norm", H, NORM, True)
    yield from _head(d, "embed_out")


# ---- GPTBigCode (StarCoder, SantaCoder, tiny_starcoder): learned positions, multi-query c_attn

def _gpt_bigcode(s, d, layout):
    d.need("H", "L", "nh", "V", "P")
    H = d.H
    I = d.I or 4 * H
    kv = H // d.nh if d.get("multi_query", True) else H
    yield "transformer.wte.weight", (d.V, H), EMBEDDING, None
    yield "transformer.wpe.weight", (d.P, H), POSITION, None
    for i in range(d.L):
        p = f"transformer.h.{i}"
        yield from norm(p + ".ln_1", H, NORM, True)
        yield from linear(p + ".attn.c_attn", H + 2 * kv, H, ATTENTION, True)
        yield from linear(p + ".attn.c_proj", H, H, ATTENTION, True)
        yield from norm(p + ".ln_2", H, NORM, True)
        yield from linear(p + ".mlp.c_fc", I, H, MLP, True)
        yield from linear(p + ".mlp.c_proj", H, I, MLP, True)
    yield from norm("transformer.ln_f", H, NORM, True)
    yield from _head(d)


# ---- Falcon

def _falcon(s, d, layout):
    d.need("H", "L", "nh", "V")
    H, nh = d.H, d.nh
    hd = H // nh
    new = d.get("new_decoder_architecture")
    if new is None:  # the original remote-code releases: "RefinedWeb" (40B) is the new architecture
        new = d.get("model_type") == "RefinedWeb"
    g = d.get("num_kv_heads") or d.get("n_head_kv")
    if new:
        qkv = (nh + 2 * int(g or nh)) * hd
    elif d.get("multi_query", True):
        qkv = H + 2 * hd
    else:
        qkv = 3 * H
    b = bool(d.get("bias", False))
    F = d.get("ffn_hidden_size") or 4 * H
    parallel = d.get("parallel_attn", True)
    n_ln = d.get("num_ln_in_parallel_attn") or (2 if new else 1)
    yield "transformer.word_embeddings.weight", (d.V, H), EMBEDDING, None
    for i in range(d.L):
        p = f"transformer.h.{i}"
        yield from linear(p + ".self_attention.query_key_value", qkv, H, ATTENTION, b)
        yield from linear(p + ".self_attention.dense", H, H, ATTENTION, b)
        yield from linear(p + ".mlp.dense_h_to_4h", F, H, MLP, b)
        yield from linear(p + ".mlp.dense_4h_to_h", H, F, MLP, b)
        if not parallel:
            norms = ("post_attention_layernorm", "input_layernorm")
        elif n_ln == 2:
            norms = ("ln_attn", "ln_mlp")
        else:
            norms = ("input_layernorm",)
        for n in norms:
            yield from norm(f"{p}.{n}", H, NORM, True)
    yield from norm("transformer.ln_f", H, NORM, True)
    yield from _head(d)


# ---- BLOOM

def _prefix_layout(prefix):
    def default(c) -> dict:
        return {"prefix": True}

    def from_names(c, names) -> dict:
        return {"prefix": any(n.startswith(prefix) for n in names)}

    return default, from_names


def _bloom(s, d, layout):
    d.need("H", "L", "V")
    H = d.H
    t = "transformer." if layout.get("prefix", True) else ""
    yield t + "word_embeddings.weight", (d.V, H), EMBEDDING, None
    yield from norm(t + "word_embeddings_layernorm", H, NORM, True)
    for i in range(d.L):
        p = f"{t}h.{i}"
        yield from norm(p + ".input_layernorm", H, NORM, True)
        yield from linear(p + ".self_attention.query_key_value", 3 * H, H, ATTENTION, True)
        yield from linear(p + ".self_attention.dense", H, H, ATTENTION, True)
        yield from norm(p + ".post_attention_layernorm", H, NORM, True)
        yield from linear(p + ".mlp.dense_h_to_4h", 4 * H, H, MLP, True)
        yield from linear(p + ".mlp.dense_4h_to_h", H, 4 * H, MLP, True)
    yield from norm(t + "ln_f", H, NORM, True)
    if t:
        yield from _head(d)


# ---- OPT

def _opt(s, d, layout):
    d.need("H", "L", "I", "V", "P")
    H = d.H
    W = d.get("word_embed_proj_dim") or H
    b = bool(d.get("enable_bias", True))
    aff = bool(d.get("layer_norm_elementwise_affine", True))
    m = "model.decoder" if layout.get("prefix", True) else "decoder"
    yield m + ".embed_tokens.weight", (d.V, W), EMBEDDING, None
    yield m + ".embed_positions.weight", (d.P + 2, H), POSITION, None
    if d.get("do_layer_norm_before", True) and not d.get("_remove_final_layer_norm", False) and aff:
        yield from norm(m + ".final_layer_norm", H, NORM, True)
    if W != H:
        yield from linear(m + ".project_out", W, H, ATTENTION)
        yield from linear(m + ".project_in", H, W, ATTENTION)
    for i in range(d.L):
        p = f"{m}.layers.{i}"
        for x in ("k_proj", "v_proj", "q_proj", "out_proj"):
            yield from linear(f"{p}.self_attn.{x}", H, H, ATTENTION, b)
        if aff:
            yield from norm(p + ".self_attn_layer_norm", H, NORM, True)
        yield from linear(p + ".fc1", d.I, H, MLP, b)
        yield from linear(p + ".fc2", H, d.I, MLP, b)
        if aff:
            yield from norm(p + ".final_layer_norm", H, NORM, True)
    if layout.get("prefix", True) and not d.tied:
        yield "lm_head.weight", (d.V, W), LM_HEAD, None


# ---- GPT-J

def _gptj_layout(c) -> dict:
    return {"buffers": _old_buffers(c)}


def _gptj_names(c, names) -> dict:
    return {"buffers": any(n.endswith(".attn.bias") or n.endswith(".attn.masked_bias") for n in names)}


def _gptj(s, d, layout):
    d.need("H", "L", "V")
    H = d.H
    I = d.I or 4 * H
    yield "transformer.wte.weight", (d.V, H), EMBEDDING, None
    for i in range(d.L):
        p = f"transformer.h.{i}"
        yield from norm(p + ".ln_1", H, NORM, True)
        if layout.get("buffers"):
            P = _pos_int(d.P, "n_positions")
            yield p + ".attn.bias", (1, 1, P, P), BUFFER, "BOOL"
            yield p + ".attn.masked_bias", (), BUFFER, None
        for x in ("k_proj", "v_proj", "q_proj", "out_proj"):
            yield from linear(f"{p}.attn.{x}", H, H, ATTENTION)
        yield from linear(p + ".mlp.fc_in", I, H, MLP, True)
        yield from linear(p + ".mlp.fc_out", H, I, MLP, True)
    yield from norm("transformer.ln_f", H, NORM, True)
    yield from _head(d, bias=True)


# ---- OLMo v1: Llama layout, LayerNorms without parameters

def _olmo(s, d, layout):
    d.need("H", "L", "nh", "kv", "hd", "I", "V")
    yield "model.embed_tokens.weight", (d.V, d.H), EMBEDDING, None
    for i in range(d.L):
        p = f"model.layers.{i}"
        yield from attention(p, d, s)
        yield from dense_mlp(p, d, s, d.I)
    yield from _head(d)


# ---- Apertus: per-head q/k norms, up/down MLP with xIELU (alpha_p, alpha_n, beta, eps per layer)

def _apertus(s, d, layout):
    d.need("H", "L", "nh", "kv", "hd", "I", "V")
    yield "model.embed_tokens.weight", (d.V, d.H), EMBEDDING, None
    for i in range(d.L):
        p = f"model.layers.{i}"
        yield from attention(p, d, s)
        yield from dense_mlp(p, d, s, d.I)
        if d.get("hidden_act", "xielu") == "xielu":
            a = p + ".mlp.act_fn"
            yield a + ".alpha_p", (1,), MLP, None
            yield a + ".alpha_n", (1,), MLP, None
            yield a + ".beta", (), MLP, None
            yield a + ".eps", (), MLP, None
        yield from norm(p + ".attention_layernorm", d.H, NORM)
        yield from norm(p + ".feedforward_layernorm", d.H, NORM)
    yield from norm("model.norm", d.H, NORM)
    yield from _head(d)


_bloom_default, _bloom_names = _prefix_layout("transformer.")
_opt_default, _opt_names = _prefix_layout("model.decoder.")

FAMILY_LIST = [
    _Custom(Spec(("phi",), ("PhiForCausalLM",), TF.format("phi"),
                 defaults={"vocab_size": 51200, "hidden_size": 2048, "intermediate_size": 8192,
                           "num_hidden_layers": 24, "num_attention_heads": 32, "tie_word_embeddings": False,
                           "qk_layernorm": False}), _phi),
    _Custom(Spec(("gpt_neox",), ("GPTNeoXForCausalLM",), TF.format("gpt_neox"),
                 defaults={"vocab_size": 50432, "hidden_size": 6144, "num_hidden_layers": 44,
                           "num_attention_heads": 64, "intermediate_size": 24576, "max_position_embeddings": 2048,
                           "tie_word_embeddings": False, "attention_bias": True, "rotary_pct": 0.25}),
            _gpt_neox, _neox_layout, _neox_names),
    _Custom(Spec(("gpt_bigcode",), ("GPTBigCodeForCausalLM",), TF.format("gpt_bigcode"), tie=True,
                 defaults={"vocab_size": 50257, "n_positions": 1024, "n_embd": 768, "n_layer": 12, "n_head": 12,
                           "multi_query": True}), _gpt_bigcode),
    _Custom(Spec(("falcon", "RefinedWeb", "RefinedWebModel"), ("FalconForCausalLM", "RWForCausalLM"),
                 TF.format("falcon") + " and its new-decoder-architecture / no-parallel-attention variants",
                 tie=True, defaults={"vocab_size": 65024, "hidden_size": 4544, "num_hidden_layers": 32,
                                     "num_attention_heads": 71}), _falcon),
    _Custom(Spec(("bloom",), ("BloomForCausalLM", "BloomModel"), TF.format("bloom"), tie=True,
                 defaults={"vocab_size": 250880, "hidden_size": 64, "n_layer": 2, "n_head": 8}),
            _bloom, _bloom_default, _bloom_names),
    _Custom(Spec(("opt",), ("OPTForCausalLM", "OPTModel"), TF.format("opt"), tie=True,
                 defaults={"vocab_size": 50272, "hidden_size": 768, "num_hidden_layers": 12, "ffn_dim": 3072,
                           "max_position_embeddings": 2048, "num_attention_heads": 12}),
            _opt, _opt_default, _opt_names),
    _Custom(Spec(("gptj",), ("GPTJForCausalLM",), TF.format("gptj"),
                 defaults={"vocab_size": 50400, "n_positions": 2048, "n_embd": 4096, "n_layer": 28, "n_head": 16,
                           "tie_word_embeddings": False}), _gptj, _gptj_layout, _gptj_names),
    _Custom(Spec(("olmo",), ("OlmoForCausalLM",), TF.format("olmo"), qkv_bias="attention_bias",
                 o_bias="attention_bias",
                 defaults={"vocab_size": 50304, "hidden_size": 4096, "intermediate_size": 11008,
                           "num_hidden_layers": 32, "num_attention_heads": 32, "tie_word_embeddings": False,
                           "attention_bias": False}), _olmo),
    _Custom(Spec(("apertus",), ("ApertusForCausalLM",), TF.format("apertus"), qkv_bias="attention_bias",
                 o_bias="attention_bias", qk_norm="head", mlp="updown",
                 defaults={"vocab_size": 131072, "hidden_size": 4096, "intermediate_size": 14336,
                           "num_hidden_layers": 32, "num_attention_heads": 32, "tie_word_embeddings": False,
                           "attention_bias": False}), _apertus),
]
MODEL_TYPES = ()
