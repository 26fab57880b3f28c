"""State-space and linear-attention hybrids: Qwen3-Next, Jamba, Granite 4 (granitemoehybrid), Falcon-H1,
Nemotron-H, and the pure state-space Mamba / Mamba-2. Mixers are in ``mixers.py``; which layer has which mixer
and feed-forward comes from the config (``schedule.py``). Each family is checked against transformers 5.23's
meta build (fixtures/oracle/transformers__<model_type>).
"""

from __future__ import annotations

from ...classify import EMBEDDING, EXPERTS, LM_HEAD, MLP, NORM, ROUTER, SHARED
from ..decoder import CustomFamily, Spec, SpecFamily, attention
from ..engine import glu_mlp, linear, norm
from ..mixers import mixer
from ..schedule import block_pattern, moe_flags

TF = "transformers 5.23 meta-device build (fixtures/oracle/transformers__{})"

QWEN3_NEXT = Spec(("qwen3_next",), ("Qwen3NextForCausalLM",), TF.format("qwen3_next"), qk_norm="head", q_gate=True,
                  moe="experts", shared="shared_expert", shared_inter="shared_expert_intermediate_size",
                  hybrid=True, recurrent="gated_deltanet", mtp="qwen3_next")
JAMBA = Spec(("jamba",), ("JambaForCausalLM",), TF.format("jamba"), final_norm="final_layernorm",
             mlp_name="feed_forward", moe="experts", router="router", moe_inter="intermediate_size",
             norms=("input_layernorm", "pre_ff_layernorm"), hybrid=True, recurrent="mamba", mamba_norms=True)


_Custom = CustomFamily

def _head(d, name="lm_head"):
    if not d.tied:
        yield from linear(name, d.V, d.H, LM_HEAD, kind=None)


def _granite_hybrid(s, d, layout):
    """Granite 4: each layer is Mamba-2 or attention (``layer_types``), then the fused-expert MoE when
    ``num_local_experts`` > 0, and always the ``shared_mlp`` (input_linear 2 x shared_intermediate_size)."""
    from ..schedule import mixer_kinds

    d.need("H", "L", "V")
    H, E = d.H, d.E
    yield "model.embed_tokens.weight", (d.V, H), EMBEDDING, None
    si = d.get("shared_intermediate_size") or 0
    for i, kind in enumerate(mixer_kinds(d, "mamba2")):
        p = f"model.layers.{i}"
        if kind == "attention":
            d.need("nh", "kv", "hd")
            yield from attention(p, d, s)
        else:
            yield from mixer(p, d, s, "mamba2")
        if E:
            d.need("I")
            yield p + ".block_sparse_moe.input_linear.weight", (E, 2 * d.I, H), EXPERTS, None
            yield p + ".block_sparse_moe.output_linear.weight", (E, H, d.I), EXPERTS, None
            yield p + ".block_sparse_moe.router.layer.weight", (E, H), ROUTER, None
        if si:
            yield from linear(p + ".shared_mlp.input_linear", 2 * int(si), H, SHARED if E else MLP)
            yield from linear(p + ".shared_mlp.output_linear", H, int(si), SHARED if E else MLP)
        yield from norm(p + ".input_layernorm", H, NORM)
        yield from norm(p + ".post_attention_layernorm", H, NORM)
    yield from norm("model.norm", H, NORM)
    yield from _head(d)


def _falcon_h1(s, d, layout):
    """Falcon-H1: attention and Mamba-2 side by side in every layer, then a gated MLP."""
    d.need("H", "L", "V", "nh", "kv", "hd", "I")
    H = d.H
    yield "model.embed_tokens.weight", (d.V, H), EMBEDDING, None
    pb = bool(d.get("projectors_bias"))
    for i in range(d.L):
        p = f"model.layers.{i}"
        yield from glu_mlp(p + ".feed_forward", H, d.I, MLP, bool(d.get("mlp_bias")))
        yield from mixer(p, d, s, "mamba2")
        yield from attention(p, d, s)
        yield from norm(p + ".input_layernorm", H, NORM)
        yield from norm(p + ".pre_ff_layernorm", H, NORM)
    yield from norm("model.final_layernorm", H, NORM)
    if not d.tied:
        yield from linear("lm_head", d.V, H, LM_HEAD, pb, kind=None)


def _mamba(s, d, layout):
    """Mamba / Mamba-2: ``backbone.embeddings``, per layer a ``norm`` and the ``mixer``, ``norm_f``."""
    d.need("H", "L", "V")
    kind = "mamba" if d.mt == "mamba" else "mamba2"
    yield "backbone.embeddings.weight", (d.V, d.H), EMBEDDING, None
    for i in range(d.L):
        p = f"backbone.layers.{i}"
        yield from norm(p + ".norm", d.H, NORM)
        yield from mixer(p, d, s, kind)
    yield from norm("backbone.norm_f", d.H, NORM)
    yield from _head(d)


def _nemotron_h(s, d, layout):
    """Nemotron-H: one block per layer from ``hybrid_override_pattern`` / ``layers_block_type`` (Mamba-2,
    attention, squared-ReLU MLP up/down, or MoE with a sigmoid router, its correction bias and shared experts)."""
    d.need("H", "V")
    plan = block_pattern(d)
    if plan is None:
        from ..engine import PredictionError

        raise PredictionError("config.json gives no hybrid_override_pattern or layers_block_type")
    H = d.H
    yield "backbone.embeddings.weight", (d.V, H), EMBEDDING, None
    for i, (mix, ffn) in enumerate(plan):
        p = f"backbone.layers.{i}"
        m = p + ".mixer"
        if mix == "mamba2":
            yield from mixer(p, d, s, "mamba2")
        elif mix == "attention":
            d.need("nh", "kv", "hd")
            yield from attention(p, d, s)
        elif ffn == "dense":
            d.need("I")
            yield from linear(m + ".up_proj", d.I, H, MLP, bool(d.get("mlp_bias")))
            yield from linear(m + ".down_proj", H, d.I, MLP, bool(d.get("mlp_bias")))
        else:
            d.need("E", "MI")
            yield from linear(m + ".gate", d.E, H, ROUTER, kind=None)
            yield m + ".gate.e_score_correction_bias", (d.E,), ROUTER, None
            for j in range(d.E):
                yield from linear(f"{m}.experts.{j}.up_proj", d.MI, H, EXPERTS)
                yield from linear(f"{m}.experts.{j}.down_proj", H, d.MI, EXPERTS)
            n = d.get("n_shared_experts") or 0
            si = d.get("moe_shared_expert_intermediate_size") or d.MI * int(n)
            if n and si:
                yield from linear(m + ".shared_experts.up_proj", int(si), H, SHARED)
                yield from linear(m + ".shared_experts.down_proj", H, int(si), SHARED)
        yield from norm(p + ".norm", H, NORM)
    yield from norm("backbone.norm_f", H, NORM)
    yield from _head(d)


MINIMAX = Spec(("minimax",), ("MiniMaxForCausalLM", "MiniMaxText01ForCausalLM", "MiniMaxM1ForCausalLM"), TF.format("minimax"), moe="mixtral",
               moe_name="block_sparse_moe", moe_inter="intermediate_size", hybrid=True, recurrent="lightning")

FAMILY_LIST = [
    SpecFamily(QWEN3_NEXT),
    SpecFamily(MINIMAX),
    SpecFamily(JAMBA),
    _Custom(Spec(("granitemoehybrid",), ("GraniteMoeHybridForCausalLM",), TF.format("granitemoehybrid"),
                 qkv_bias="attention_bias", o_bias="attention_bias"), _granite_hybrid),
    _Custom(Spec(("falcon_h1",), ("FalconH1ForCausalLM",), TF.format("falcon_h1"), qkv_bias="attention_bias",
                 o_bias="attention_bias", mixer_name="mamba"), _falcon_h1),
    _Custom(Spec(("mamba",), ("MambaForCausalLM",), TF.format("mamba"), tie=True, mixer_name="mixer"), _mamba),
    _Custom(Spec(("mamba2",), ("Mamba2ForCausalLM",), TF.format("mamba2"), mixer_name="mixer"), _mamba),
    _Custom(Spec(("nemotron_h",), ("NemotronHForCausalLM",), TF.format("nemotron_h"), qkv_bias="attention_bias",
                 o_bias="attention_bias", attn="mixer", mixer_name="mixer"), _nemotron_h),
]
MODEL_TYPES = ()
