"""Qwen2-MoE and Qwen3-MoE.

Attention as in qwen2 (q/k/v biases) or qwen3 (per-head q_norm/k_norm, no biases). A layer is sparse when it
is not in ``mlp_only_layers`` and (i + 1) % ``decoder_sparse_step`` == 0; otherwise it has a dense gated MLP of
``intermediate_size``. A sparse ``mlp`` holds the router ``gate`` (experts x H), the experts (gate/up/down of
``moe_intermediate_size``) and, for qwen2_moe, one ``shared_expert`` of ``shared_expert_intermediate_size`` with
its scalar ``shared_expert_gate`` (1 x H).
"""

from ...classify import ATTENTION, EMBEDDING, EXPERTS, LM_HEAD, MLP, NORM, ROUTER, SHARED
from ..engine import glu_mlp, gqa_attention, linear, norm

MODEL_TYPES = ("qwen2_moe", "qwen3_moe")
TIE_DEFAULT = False
DEFAULT_DTYPE = "F32"


def sparse_layers(d) -> list[bool]:
    only = set(d.get("mlp_only_layers") or [])
    step = int(d.get("decoder_sparse_step") or 1)
    return [i not in only and d.E > 0 and (i + 1) % step == 0 for i in range(d.L)]


def tensors(d, layout):
    d.need("H", "L", "nh", "kv", "hd", "V", "E", "MI")
    q3 = d.mt == "qwen3_moe"
    bias = bool(d.get("attention_bias"))
    yield "model.embed_tokens.weight", (d.V, d.H), EMBEDDING, None
    for i, sparse in enumerate(sparse_layers(d)):
        p = f"model.layers.{i}"
        yield from gqa_attention(p + ".self_attn", d, ATTENTION, bias if q3 else True, bias if q3 else False)
        if q3:
            yield from norm(p + ".self_attn.q_norm", d.hd, NORM)
            yield from norm(p + ".self_attn.k_norm", d.hd, NORM)
        if sparse:
            yield from linear(p + ".mlp.gate", d.E, d.H, ROUTER, kind=None)
            for j in range(d.E):
                yield from glu_mlp(f"{p}.mlp.experts.{j}", d.H, d.MI, EXPERTS)
            si = d.get("shared_expert_intermediate_size")
            if not q3 and si:
                yield from glu_mlp(p + ".mlp.shared_expert", d.H, int(si), SHARED)
                yield from linear(p + ".mlp.shared_expert_gate", 1, d.H, ROUTER, kind=None)
        else:
            d.need("I")
            yield from glu_mlp(p + ".mlp", d.H, d.I, MLP)
        yield from norm(p + ".input_layernorm", d.H, NORM)
        yield from norm(p + ".post_attention_layernorm", d.H, NORM)
    yield from norm("model.norm", d.H, NORM)
    if not d.tied:
        yield from linear("lm_head", d.V, d.H, LM_HEAD, kind=None)
