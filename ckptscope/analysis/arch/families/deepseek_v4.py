"""DeepSeek-V4 (``deepseek_v4``, ``DeepseekV4ForCausalLM``): compressed attention, hash + routed MoE, mHC.

Checked against transformers 5.23's meta build and the save-time steps of ``save_pretrained``
(fixtures/oracle/transformers__deepseek_v4, fixtures/oracle/deepseek-ai__DeepSeek-V4-Flash-0731). transformers
loads V4 through a weight-conversion table (conversion_mapping.py, "deepseek_v4") that renames DeepSeek's own
module names to its classes; ``save_pretrained`` runs that table backwards, so what transformers 5 writes is
DeepSeek's naming under transformers' ``model.`` prefix: ``model.layers.N.attn.wq_a``, ``.ffn.experts.J.w1`` ...
Two reverse renames do not give DeepSeek's names back: the attention's own KV norm is saved as ``attn.norm``
(the table maps every ``.norm.`` to ``.kv_norm.``), the LM head as ``head.weight`` (no ``model.`` prefix) while
the embedding stays ``model.embed_tokens.weight``.

Per layer (``p = model.layers.N``):

- mHC (manifold-constrained hyper-connections), F32 always (transformers keeps them in fp32):
  ``hc_{attn,ffn}_fn`` ((2 + hc_mult) * hc_mult, hc_mult * H), ``hc_{attn,ffn}_base`` ((2 + hc_mult) * hc_mult),
  ``hc_{attn,ffn}_scale`` (3); the model's final collapse ``model.hc_head.hc_{fn,base,scale}`` (hc_mult,
  hc_mult * H / hc_mult / 1).
- attention (shared-KV MQA, grouped low-rank output): ``wq_a`` (q_lora_rank, H), ``q_norm`` (q_lora_rank, F32),
  ``wq_b`` (heads * head_dim, q_lora_rank), ``wkv`` (head_dim, H), ``norm`` (head_dim, F32), ``wo_a``
  (o_groups * o_lora_rank, heads * head_dim / o_groups), ``wo_b`` (H, o_groups * o_lora_rank), ``attn_sink``
  (heads, F32).
- layer type (``layer_types``; DeepSeek's config.json gives ``compress_ratios`` 0 / 4 / 128 instead; else the
  class default: 2 heavily compressed, then compressed-sparse / heavily-compressed alternating):
  ``sliding_attention`` adds nothing; ``heavily_compressed_attention`` adds ``attn.compressor.{wkv, wgate}``
  (head_dim, H), ``norm`` (head_dim, F32), ``ape`` (rate, head_dim, F32); ``compressed_sparse_attention`` the
  same compressor at 2 x head_dim (two overlapping window series; norm stays head_dim) plus the lightning indexer
  ``attn.indexer.wq_b`` (index_n_heads * index_head_dim, q_lora_rank), ``attn.indexer.weights_proj``
  (index_n_heads, H) and its own compressor ``attn.indexer.compressor.*`` at 2 x index_head_dim. Rates from
  ``compress_rates`` (or ``compress_rate_csa`` / ``compress_rate_hca``), default 4 and 128.
- MoE in every layer (``mlp_layer_types``; DeepSeek's ``num_hash_layers``; default 3 hash layers first):
  n_routed_experts per-expert ``ffn.experts.J.{w1, w3}`` (moe_intermediate_size, H) / ``w2`` (H,
  moe_intermediate_size), ``ffn.gate.weight`` (experts, H), ``ffn.shared_experts.w1/w2/w3`` (one expert of
  moe_intermediate_size whatever n_shared_experts says: transformers builds one), then ``ffn.gate.tid2eid``
  (vocab, top_k, I64) on ``hash_moe`` layers or ``ffn.gate.bias`` (experts; a buffer in the checkpoint dtype)
  on ``moe`` layers.
- ``attn_norm`` / ``ffn_norm`` (H, F32); ``model.norm`` (H, F32).

MTP: ``num_nextn_predict_layers`` is read but transformers builds no MTP layer (DeepSeek's checkpoints hold
``mtp.0.*``; transformers ignores them on load), so none is predicted. The Hub layout (DeepSeek's names without
``model.``, FP8 E4M3 linears with E8M0 block scales, FP4 experts packed two per byte, the ``mtp.N.*`` layers) is
not described here: no public copy of the real safetensors index or headers was found to check it against.

KV cache (``kv_rows``, used by analysis/memory/kv.py): every layer keeps a sliding window of ``sliding_window``
tokens of one head_dim row, shared by K and V; a compressed layer adds one head_dim row per ``rate`` tokens
(CSA also the indexer's index_head_dim key per ``rate`` tokens) and a per-sequence buffer of the window still
being filled (see ``kv_rows``).
"""

from __future__ import annotations

from ...classify import ATTENTION, EMBEDDING, EXPERTS, LM_HEAD, NORM, ROUTER, SHARED
from ..decoder import CustomFamily, Spec
from ..engine import PredictionError, linear

SLIDING, CSA, HCA = "sliding_attention", "compressed_sparse_attention", "heavily_compressed_attention"
_RATIO_TYPES = {0: SLIDING, 4: CSA, 128: HCA}  #: transformers' legacy compress_ratios -> layer type
TF = "transformers 5.23 meta-device build (fixtures/oracle/transformers__deepseek_v4, " \
     "fixtures/oracle/deepseek-ai__DeepSeek-V4-Flash-0731)"


def _int(d, key: str, default=None) -> int:
    v = d.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0 or v > 10_000_000:
        raise PredictionError(f"config.json gives no usable value for {key}")
    return v


def layer_types(d) -> list[str]:
    """Attention type of each of the L layers, as DeepseekV4Config.__post_init__ settles it."""
    n = d.L
    lt = d.get("layer_types")
    if isinstance(lt, list) and lt:
        out = [str(t) for t in lt[:n]]
    elif isinstance(d.get("compress_ratios"), list):
        out = []
        for r in d.get("compress_ratios")[:n]:
            if r not in _RATIO_TYPES or isinstance(r, bool):
                raise PredictionError(f"compress_ratios holds {r!r}: DeepSeek-V4 knows 0, 4 and 128")
            out.append(_RATIO_TYPES[r])
    else:
        out = [HCA] * min(n, 2) + [CSA if i % 2 else HCA for i in range(max(n - 2, 0))]
    if len(out) != n or any(t not in (SLIDING, CSA, HCA) for t in out):
        raise PredictionError("layer_types / compress_ratios do not give one known attention type per layer")
    return out


def mlp_types(d) -> list[str]:
    """``hash_moe`` / ``moe`` of each layer (``mlp_layer_types``, else ``num_hash_layers``, default 3)."""
    n = d.L
    mt = d.get("mlp_layer_types")
    if isinstance(mt, list) and mt:
        out = [str(t) for t in mt[:n]]
    else:
        h = d.get("num_hash_layers")
        h = h if isinstance(h, int) and not isinstance(h, bool) and h >= 0 else 3
        out = ["hash_moe"] * min(n, h) + ["moe"] * max(0, n - h)
    if len(out) != n or any(t not in ("hash_moe", "moe") for t in out):
        raise PredictionError("mlp_layer_types does not give hash_moe / moe for every layer")
    return out


def compress_rate(d, kind: str) -> int:
    rates = d.get("compress_rates")
    legacy = d.get("compress_rate_csa" if kind == CSA else "compress_rate_hca")
    v = legacy if legacy is not None else (rates or {}).get(kind) if isinstance(rates, dict) else None
    if v is None:
        v = 4 if kind == CSA else 128
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0 or v > 1_000_000:
        raise PredictionError(f"compress rate {v!r} for {kind} is not a positive integer")
    return v


def _compressor(p: str, d, width: int, norm_dim: int, rate: int):
    yield from linear(p + ".wgate", width, d.H, ATTENTION, kind=None)
    yield p + ".norm.weight", (norm_dim,), NORM, "F32"
    yield from linear(p + ".wkv", width, d.H, ATTENTION, kind=None)
    yield p + ".ape", (rate, width), ATTENTION, "F32"


def _layer(d, i: int, kind: str, mlp: str):
    p = f"model.layers.{i}"
    H, hc = d.H, _int(d, "hc_mult")
    mix = (2 + hc) * hc
    for blk in ("attn", "ffn"):
        yield f"{p}.hc_{blk}_base", (mix,), NORM, "F32"
        yield f"{p}.hc_{blk}_fn", (mix, hc * H), NORM, "F32"
        yield f"{p}.hc_{blk}_scale", (3,), NORM, "F32"
    yield p + ".attn_norm.weight", (H,), NORM, "F32"
    f = p + ".ffn"
    for j in range(d.E):
        yield from linear(f"{f}.experts.{j}.w2", H, d.MI, EXPERTS, kind=None)
        yield from linear(f"{f}.experts.{j}.w1", d.MI, H, EXPERTS, kind=None)
        yield from linear(f"{f}.experts.{j}.w3", d.MI, H, EXPERTS, kind=None)
    if mlp == "hash_moe":
        yield f + ".gate.tid2eid", (d.V, d.top_k), ROUTER, "I64"
    else:
        yield f + ".gate.bias", (d.E,), ROUTER, None
    yield f + ".gate.weight", (d.E, H), ROUTER, None
    yield from linear(f + ".shared_experts.w2", H, d.MI, SHARED, kind=None)
    yield from linear(f + ".shared_experts.w1", d.MI, H, SHARED, kind=None)
    yield from linear(f + ".shared_experts.w3", d.MI, H, SHARED, kind=None)
    yield p + ".ffn_norm.weight", (H,), NORM, "F32"
    a = p + ".attn"
    hd, qr = d.hd, _int(d, "q_lora_rank")
    if kind == CSA:
        yield from _compressor(a + ".compressor", d, 2 * hd, hd, compress_rate(d, CSA))
        ih, inh = _int(d, "index_head_dim"), _int(d, "index_n_heads")
        yield from _compressor(a + ".indexer.compressor", d, 2 * ih, ih, compress_rate(d, CSA))
        yield from linear(a + ".indexer.wq_b", inh * ih, qr, ATTENTION, kind=None)
        yield from linear(a + ".indexer.weights_proj", inh, H, ATTENTION, kind=None)
    elif kind == HCA:
        yield from _compressor(a + ".compressor", d, hd, hd, compress_rate(d, HCA))
    g, orank = _int(d, "o_groups"), _int(d, "o_lora_rank")
    if (d.nh * hd) % g:
        raise PredictionError(f"num_attention_heads x head_dim ({d.nh * hd}) is not divisible by o_groups ({g})")
    yield a + ".norm.weight", (hd,), NORM, "F32"
    yield from linear(a + ".wkv", hd, H, ATTENTION, kind=None)
    yield from linear(a + ".wo_a", g * orank, d.nh * hd // g, ATTENTION, kind=None)
    yield from linear(a + ".wo_b", H, g * orank, ATTENTION, kind=None)
    yield a + ".q_norm.weight", (qr,), NORM, "F32"
    yield from linear(a + ".wq_a", qr, H, ATTENTION, kind=None)
    yield from linear(a + ".wq_b", d.nh * hd, qr, ATTENTION, kind=None)
    yield a + ".attn_sink", (d.nh,), ATTENTION, "F32"


def _tensors(s, d, layout):
    d.need("H", "L", "nh", "hd", "V", "E", "MI", "top_k")
    kinds, mlps = layer_types(d), mlp_types(d)
    hc = _int(d, "hc_mult")
    if not d.tied:
        yield "head.weight", (d.V, d.H), LM_HEAD, None
    yield "model.embed_tokens.weight", (d.V, d.H), EMBEDDING, None
    yield "model.hc_head.hc_base", (hc,), NORM, "F32"
    yield "model.hc_head.hc_fn", (hc, hc * d.H), NORM, "F32"
    yield "model.hc_head.hc_scale", (1,), NORM, "F32"
    for i, (kind, mlp) in enumerate(zip(kinds, mlps)):
        yield from _layer(d, i, kind, mlp)
    yield "model.norm.weight", (d.H,), NORM, "F32"


def kv_rows(d) -> list[list[dict]]:
    """What each decoder layer caches per sequence, for the KV planner (analysis/memory/kv.py).

    Assumptions (transformers 5.23's DeepseekV4HCACache / DeepseekV4CSACache; DeepSeek's inference code keeps the
    same rows): one KV head whose K and V are one tensor (counted once); every layer keeps the last
    ``sliding_window`` tokens of it (``head_dim`` values each); a heavily compressed layer adds one ``head_dim``
    row per ``rate`` tokens (rate 128 by default), a compressed-sparse layer one ``head_dim`` row per ``rate`` (4)
    tokens plus the lightning indexer's ``index_head_dim`` key per ``rate`` tokens (top-k selects among them, all
    are kept). The tokens of a window not yet closed are buffered per sequence before compression: up to rate - 1
    tokens of kv and gate projections (2 x head_dim, twice that for CSA's two series) and CSA's overlap row of the
    previous window (kv and gate, head_dim each); the indexer the same at index_head_dim. That buffer is a fixed
    size per sequence (``state_values``), replicated across tensor-parallel ranks (the compressors are not
    sharded), as is the single KV head.
    """
    hd, win = d.hd, _int(d, "sliding_window")
    ih = _int(d, "index_head_dim")
    out = []
    for kind in layer_types(d):
        rows = [{"kind": "sliding", "values": hd, "window": win,
                 "note": f"sliding window: last {win} tokens x {hd} (K = V, one head)"}]
        if kind == HCA:
            r = compress_rate(d, HCA)
            rows.append({"kind": "compressed", "values": hd, "compress": r,
                         "note": f"HCA: one {hd}-value row per {r} tokens"})
            rows.append({"kind": "state", "state_values": (r - 1) * 2 * hd,
                         "note": f"HCA compressor buffer: up to {r - 1} tokens x (kv + gate) {hd}"})
        elif kind == CSA:
            r = compress_rate(d, CSA)
            rows.append({"kind": "compressed", "values": hd, "compress": r,
                         "note": f"CSA: one {hd}-value row per {r} tokens"})
            rows.append({"kind": "compressed", "values": ih, "compress": r,
                         "note": f"CSA lightning indexer: one {ih}-value key per {r} tokens"})
            rows.append({"kind": "state", "state_values": (r - 1) * 2 * 2 * (hd + ih) + 2 * (hd + ih),
                         "note": f"CSA compressor + indexer buffers: up to {r - 1} tokens x (kv + gate) x 2 series "
                                 f"of {hd} and {ih}, plus the previous window's overlap row"})
        out.append(rows)
    return out


class _V4Family(CustomFamily):
    def __init__(self):
        super().__init__(Spec(("deepseek_v4",), ("DeepseekV4ForCausalLM",), TF), _tensors)
        self.kv_rows = kv_rows

    def layer_kinds(self, d):
        """Every layer is attention (sliding, or sliding + compressed history): no recurrent kind."""
        return ["attention"] * d.L


FAMILY_LIST = [_V4Family()]
MODEL_TYPES = ()
