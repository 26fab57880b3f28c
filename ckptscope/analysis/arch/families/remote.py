"""Remote-code families transformers 5.23 has no class for (``trust_remote_code`` checkpoints). Each is written
from the family's own modeling file and checked against a hand derivation in tests/test_arch_families.py:

- InternLM2 / 2.5 (``InternLM2ForCausalLM``): ``model.tok_embeddings``, fused ``attention.wqkv``
  ((heads + 2 x kv_heads) x head_dim, H; bias when ``bias``), ``attention.wo``, ``feed_forward.w1``/``w3``/``w2``,
  ``attention_norm``, ``ffn_norm``, ``model.norm``, ``output`` (untied by default);
- MiMo (``MiMoForCausalLM``): Qwen2 (q/k/v biases) plus ``num_nextn_predict_layers`` MTP blocks
  ``model.mtp_layers.N``: token_layernorm, hidden_layernorm, input_proj (H x 2H), a full decoder layer,
  final_layernorm;
- ChatGLM2/3 and GLM-4 (``chatglm``): in ``remote_more.py``;
- Nemotron-NAS / DeciLM (``DeciLMForCausalLM``, Llama-3.x-Nemotron Super/Ultra/51B): per-layer ``block_configs``:
  attention with heads // n_heads_in_group K/V heads, or ``replace_with_linear`` (``self_attn.linear_attn``
  H x H), or ``no_op`` (no attention and no input_layernorm); the FFN with intermediate
  = round_up(int(2 x ffn_mult x H / 3), 256), or ``linear_mlp`` H x H, or ``no_op``.
"""

from __future__ import annotations

from ...classify import ATTENTION, EMBEDDING, LM_HEAD, MLP, MTP, NORM
from ..decoder import CustomFamily, Spec, attention
from ..engine import PredictionError, glu_mlp, linear, norm


_Custom = CustomFamily

def _internlm2(s, d, layout):
    d.need("H", "L", "nh", "kv", "hd", "I", "V")
    H, b = d.H, bool(d.get("bias", True))
    yield "model.tok_embeddings.weight", (d.V, H), EMBEDDING, None
    for i in range(d.L):
        p = f"model.layers.{i}"
        yield from linear(p + ".attention.wqkv", (d.nh + 2 * d.kv) * d.hd, H, ATTENTION, b)
        yield from linear(p + ".attention.wo", H, d.nh * d.hd, ATTENTION, b)
        yield from glu_mlp(p + ".feed_forward", H, d.I, MLP, names=("w1", "w3", "w2"))
        yield from norm(p + ".attention_norm", H, NORM)
        yield from norm(p + ".ffn_norm", H, NORM)
    yield from norm("model.norm", H, NORM)
    if not d.tied:
        yield from linear("output", d.V, H, LM_HEAD, kind=None)


MIMO = Spec(("mimo",), ("MiMoForCausalLM",), "hand derivation (tests/test_arch_families.py) from MiMo's released "
            "layout", qkv_bias=("attention_bias", True))


def _mimo(s, d, layout):
    from ..decoder import tensors as decoder_tensors

    yield from decoder_tensors(s, d, layout)
    n = d.get("num_nextn_predict_layers") or 0
    if not layout.get("mtp", True):
        return
    for k in range(int(n)):
        p = f"model.mtp_layers.{k}"
        yield from norm(p + ".token_layernorm", d.H, MTP)
        yield from norm(p + ".hidden_layernorm", d.H, MTP)
        yield from linear(p + ".input_proj", d.H, 2 * d.H, MTP)
        yield from attention(p, d, s, MTP, MTP)
        yield from glu_mlp(p + ".mlp", d.H, d.I, MTP)
        yield from norm(p + ".input_layernorm", d.H, MTP)
        yield from norm(p + ".post_attention_layernorm", d.H, MTP)
        yield from norm(p + ".final_layernorm", d.H, MTP)


def _mimo_layout(c, names) -> dict:
    return {"mtp": any(".mtp_layers." in n for n in names)}


def ffn_mult_to_intermediate(mult: float, H: int) -> int:
    """DeciLM's _ffn_mult_to_intermediate_size: int(2 * mult * H / 3) rounded up to a multiple of 256."""
    n = int(2 * mult * H / 3)
    return -(-n // 256) * 256


def _deci(s, d, layout):
    d.need("H", "nh", "hd", "V")
    blocks = d.get("block_configs")
    if not isinstance(blocks, list) or not blocks or len(blocks) > 10_000:
        raise PredictionError("config.json gives no usable block_configs")
    H, hd, nh = d.H, d.hd, d.nh
    bias = bool(d.get("attention_bias"))
    yield "model.embed_tokens.weight", (d.V, H), EMBEDDING, None
    for i, b in enumerate(blocks):
        if not isinstance(b, dict):
            raise PredictionError(f"block_configs[{i}] is not an object")
        att, ffn = b.get("attention") or {}, b.get("ffn") or {}
        p = f"model.layers.{i}"
        if not att.get("no_op"):
            yield from norm(p + ".input_layernorm", H, NORM)
            if att.get("replace_with_linear"):
                yield from linear(p + ".self_attn.linear_attn", H, H, ATTENTION)
            else:
                g = att.get("n_heads_in_group")
                if not isinstance(g, int) or g <= 0 or nh % g:
                    raise PredictionError(f"block_configs[{i}].attention.n_heads_in_group is not usable")
                kv = nh // g
                yield from linear(p + ".self_attn.q_proj", nh * hd, H, ATTENTION, bias)
                yield from linear(p + ".self_attn.k_proj", kv * hd, H, ATTENTION, bias)
                yield from linear(p + ".self_attn.v_proj", kv * hd, H, ATTENTION, bias)
                yield from linear(p + ".self_attn.o_proj", H, nh * hd, ATTENTION, bias)
        if not ffn.get("no_op"):
            yield from norm(p + ".post_attention_layernorm", H, NORM)
            if ffn.get("replace_with_linear"):
                yield from linear(p + ".mlp.linear_mlp", H, H, MLP)
            else:
                m = ffn.get("ffn_mult")
                if not isinstance(m, (int, float)) or isinstance(m, bool) or not 0 < m < 1000:
                    raise PredictionError(f"block_configs[{i}].ffn.ffn_mult is not usable")
                yield from glu_mlp(p + ".mlp", H, ffn_mult_to_intermediate(m, H), MLP)
    yield from norm("model.norm", H, NORM)
    if not d.tied:
        yield from linear("lm_head", d.V, H, LM_HEAD, kind=None)


_mimo_family = _Custom(MIMO, _mimo)
_mimo_family.layout_from_names = _mimo_layout
_mimo_family.default_layout = lambda c: {"mtp": True}

FAMILY_LIST = [
    _Custom(Spec(("internlm2",), ("InternLM2ForCausalLM",), "hand derivation from InternLM2's remote modeling "
                 "code (tests/test_arch_families.py)", defaults={"bias": True}), _internlm2),
    _mimo_family,
    _Custom(Spec(("nemotron-nas", "deci", "deci_lm"), ("DeciLMForCausalLM",), "hand derivation from DeciLM's remote "
                 "modeling code (tests/test_arch_families.py)"), _deci),
]
MODEL_TYPES = ()


class _MiniCPM3:
    """MiniCPM3: DeepSeek-V2's multi-head latent attention (q_a/q_b low rank, kv_a_proj_with_mqa, kv_b_proj) with
    a dense gated MLP in every layer; tied by default. Checked against transformers 5.23's meta build
    (fixtures/oracle/transformers__minicpm3)."""

    MODEL_TYPES = ("minicpm3",)
    ARCHITECTURES = ("MiniCPM3ForCausalLM",)
    TIE_DEFAULT = True
    DEFAULT_DTYPE = "F32"
    SOURCE = "transformers 5.23 meta-device build (fixtures/oracle/transformers__minicpm3)"

    def __init__(self):
        from .defaults import DEFAULTS

        self.DEFAULTS = DEFAULTS.get("minicpm3", {})

    def tensors(self, d, layout):
        from . import deepseek

        d.E = 0  # no experts: every layer is dense
        yield from deepseek.tensors(d, {"mtp": False})


FAMILY_LIST.append(_MiniCPM3())


def _dbrx(s, d, layout):
    """DBRX: ``transformer.wte``, per block ``norm_attn_norm`` (norm_1, fused ``attn.Wqkv`` of
    (heads + 2 x attn_config.kv_n_heads) x head_dim, ``attn.out_proj``, norm_2) and ``ffn`` (``router.layer``,
    experts fused in 2-D ``experts.mlp.w1``/``v1``/``w2`` of (experts x ffn_hidden_size, H)), ``norm_f``.
    Norms are LayerNorms without bias. Checked against transformers 5.23's meta build (transformers__dbrx)."""
    d.need("H", "L", "nh", "hd", "V")
    att = d.get("attn_config") if isinstance(d.get("attn_config"), dict) else {}
    ffn = d.get("ffn_config") if isinstance(d.get("ffn_config"), dict) else {}
    kv = att.get("kv_n_heads", 1)
    E, I = ffn.get("moe_num_experts", 4), ffn.get("ffn_hidden_size", 3584)
    for v, what in ((kv, "attn_config.kv_n_heads"), (E, "ffn_config.moe_num_experts"), (I, "ffn_config.ffn_hidden_size")):
        if not isinstance(v, int) or isinstance(v, bool) or not 0 < v <= 1_000_000:
            raise PredictionError(f"config.json gives no usable value for {what}")
    if d.L * E > 500_000:
        raise PredictionError("config.json describes too many experts")
    from ...classify import EXPERTS, ROUTER

    H = d.H
    yield "transformer.wte.weight", (d.V, H), EMBEDDING, None
    for i in range(d.L):
        p = f"transformer.blocks.{i}"
        yield from norm(p + ".norm_attn_norm.norm_1", H, NORM)
        yield from linear(p + ".norm_attn_norm.attn.Wqkv", (d.nh + 2 * kv) * d.hd, H, ATTENTION)
        yield from linear(p + ".norm_attn_norm.attn.out_proj", H, d.nh * d.hd, ATTENTION)
        yield from norm(p + ".norm_attn_norm.norm_2", H, NORM)
        yield p + ".ffn.router.layer.weight", (E, H), ROUTER, None
        for w in ("w1", "v1", "w2"):
            yield f"{p}.ffn.experts.mlp.{w}", (E * I, H), EXPERTS, None
    yield from norm("transformer.norm_f", H, NORM)
    if not d.tied:
        yield from linear("lm_head", d.V, H, LM_HEAD, kind=None)


FAMILY_LIST.append(_Custom(Spec(("dbrx",), ("DbrxForCausalLM",), "transformers 5.23 meta-device build "
                                "(fixtures/oracle/transformers__dbrx)"), _dbrx))
