"""llama-quantize's per-tensor types for the newly mapped families.

Two kinds of expected values, neither computed by ckptscope:

* llama.cpp's own golden listings (fixtures/gguf/llamacpp-snapshots/, from tests/snapshots/*.schema: real published
  GGUF headers of Qwen3-Coder-Next, gemma-3-4b-it and GLM-4.6V run through llama.cpp's HEAD type selection);
* hand derivations from src/llama-quant.cpp written out in each test (which tensors may be quantized, the
  use_more_bits layers, the n_expert == 8 and n_gqa branches, the fallback table).
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import re
from types import SimpleNamespace

import pytest

from ckptscope.analysis.gguf import estimate_gguf
from ckptscope.analysis.gguf.mapping import map_tensors
from ckptscope.readers.config import from_dict, parse_config

from conftest import CONFIGS, FIXTURES

SNAP = FIXTURES / "gguf" / "llamacpp-snapshots"


def _inventory(name):
    p = FIXTURES / "oracle" / f"{name}.json"
    d = json.loads(p.read_text() if p.exists() else gzip.decompress(p.with_suffix(".json.gz").read_bytes()))
    return [SimpleNamespace(name=n, shape=tuple(s), dtype=dt) for n, s, dt in d["tensors"]]


def _config(name, **override):
    raw = json.loads((CONFIGS / name / "config.json").read_text())
    if override:
        tgt = raw.get("text_config", raw)
        tgt.update(override)
    return from_dict(raw)


def _schema(fname):
    """{FTYPE: (default, {tensor: type})} from a llama.cpp snapshot excerpt."""
    out, cur = {}, None
    for line in (SNAP / fname).read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^\[(\w+)\] (\w+)$", line)
        if m:
            cur = out.setdefault(m.group(1), (m.group(2), {}))
            continue
        name, typ = line.split()
        cur[1][name] = typ
    return out


def _deviations(e, default):
    """Quantizable tensors whose type is not the default (the schema's listing)."""
    return {t.name: t.ggml_name for t in e.tensors if t.ggml_name != default and t.ggml_name != "f32"}


def _kind_counts(listing):
    out = {}
    for name, typ in listing.items():
        kind = re.sub(r"^blk\.\d+\.", "", name)
        out[(kind, typ)] = out.get((kind, typ), 0) + 1
    return out


# ---- real GGUF listings ---------------------------------------------------------------------------------------

QWEN3_NEXT = ("transformers__qwen3_next", "qwen3-coder-next.schema")


@pytest.mark.parametrize("ftype", ["Q4_K_S", "Q4_K_M", "Q5_K_S", "IQ2_XXS"])
def test_qwen3_next_matches_llamacpp_golden_listing(ftype):
    """Qwen3-Coder-Next's real GGUF (schema header: n_embd 2048, n_layer 48, n_head 16/2, 512 experts, vocab
    151936 -- the Qwen3-Next reference config's values): linear-attention layers carry attn_qkv (+ attn_gate), every
    fourth layer attn_q/k/v; no MTP block (n_layer 48). Exact match, HEAD rules."""
    default, want = _schema(QWEN3_NEXT[1])[ftype]
    e = estimate_gguf(_inventory(QWEN3_NEXT[0]), _config(QWEN3_NEXT[0]), ftype, rules="head",
                      imatrix=ftype.startswith("IQ"))
    assert _deviations(e, default) == want


def test_qwen3_next_legacy_rules_differ_only_on_attn_qkv():
    """LEGACY (Apr 2024 - Mar 2026): attn_qkv is not attn_v-like -> Q5_K on all 36 linear layers for Q4_K_M.
    n_attention_wv still counts attn_v + attn_qkv (48), but i_attention_wv advances only on the 12 attn_v:
    use_more_bits(i, 48) for i = 0..11 -> i < 6 or (i - 6) % 3 == 2 -> i in {0..5, 8, 11}."""
    e = estimate_gguf(_inventory(QWEN3_NEXT[0]), _config(QWEN3_NEXT[0]), "Q4_K_M", rules="legacy")
    qkv = {t.type for t in e.tensors if t.name.endswith("attn_qkv.weight")}
    assert qkv == {"Q5_K"} and sum(t.name.endswith("attn_qkv.weight") for t in e.tensors) == 36
    v6 = sorted(int(t.name.split(".")[1]) for t in e.tensors if t.name.endswith("attn_v.weight") and t.type == "Q6_K")
    full = [3 + 4 * i for i in range(12)]
    assert v6 == [full[i] for i in (0, 1, 2, 3, 4, 5, 8, 11)]


GEMMA = ("google__gemma-3-4b-it", "gemma-3-4b-it.schema")


@pytest.mark.parametrize("ftype", ["Q4_0", "Q8_0", "Q3_K_S", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q6_K", "Q2_K_S"])
def test_gemma3_matches_llamacpp_golden_listing(ftype):
    """gemma-3-4b-it (real config.json, transformers' oracle inventory; vision tower to the mmproj file): tied
    embedding -> token_embd gets the output rule. The listing's counters follow the file's shard order, llama-quantize
    sorts by layer (see the fixture's PROVENANCE.md), so which layers differ is compared as counts per tensor kind;
    listings without counter-driven entries are compared exactly."""
    default, want = _schema(GEMMA[1])[ftype]
    e = estimate_gguf(_inventory(GEMMA[0]), _config(GEMMA[0]), ftype, rules="head")
    got = _deviations(e, default)
    assert _kind_counts(got) == _kind_counts(want)
    if ftype in ("Q4_0", "Q8_0", "Q3_K_S", "Q5_K_S", "Q6_K"):
        assert got == want
    assert e.arch == "gemma3" and not any(t.name == "output.weight" for t in e.tensors)


def test_gemma3_sorted_counter_layers():
    """The layers llama-quantize itself bumps (weights_map sorted by layer): use_more_bits(i, 34) -> i < 4,
    i >= 29, or (i - 4) % 3 == 2."""
    e = estimate_gguf(_inventory(GEMMA[0]), _config(GEMMA[0]), "Q4_K_M", rules="head")
    want = [i for i in range(34) if i < 4 or i >= 29 or (i - 4) % 3 == 2]
    for kind in ("attn_v", "ffn_down"):
        got = sorted(int(t.name.split(".")[1]) for t in e.tensors if f".{kind}." in t.name and t.type == "Q6_K")
        assert got == want, kind


def test_gemma3_token_embd_cut_to_the_tokenizer():
    """Gemma3Model.modify_tensors keeps only the tokenizer's rows of embed_tokens (262,208 -> 262,144 for 4B)."""
    tok = SimpleNamespace(id_count=262_144, tokens=None, merges=None, model_type="Unigram", added_tokens=[],
                          special_token_ids={}, special_tokens={}, vocab_size=262_144, max_id=262_143,
                          base_vocab_size=262_144, num_merges=None, byte_fallback=True, config_added_tokens={})
    lay = map_tensors(_inventory(GEMMA[0]), _config(GEMMA[0]), n_vocab=tok.id_count)
    emb = next(t for t in lay.tensors if t.name == "token_embd.weight")
    assert emb.ne == (2560, 262_144)
    lay = map_tensors(_inventory(GEMMA[0]), _config(GEMMA[0]))
    assert next(t for t in lay.tensors if t.name == "token_embd.weight").ne == (2560, 262_208)
    assert any("cuts token_embd" in n for n in lay.notes)


GLM = "transformers__glm4_moe"


def test_glm45_air_layout_matches_glm46v_listing():
    """GLM-4.6V's real GGUF (header n_layer 46: no NextN block in that file) with the GLM-4.5-Air-sized reference
    config (same n_embd, n_ff, vocab, heads, 128 experts; head_dim 128 as GLM-4.5-Air's config.json has it, the class
    default derives 4096 / 96) without its MTP layer, inventory from the architecture rules (oracle-checked for this
    family): Q3_K_M exactly, including the fallbacks (ffn_down rows 10944 and 1408 are not multiples of 256:
    Q5_K -> Q5_1, Q4_K -> Q5_0)."""
    from ckptscope.analysis.arch import predict_inventory

    default, want = _schema("glm-4.6v.schema")["Q3_K_M"]
    cfg = _config(GLM, num_nextn_predict_layers=0, head_dim=128)
    inv = predict_inventory(cfg)
    e = estimate_gguf(inv, cfg, "Q3_K_M", rules="head")
    assert _deviations(e, default) == want


def test_glm45_keeps_its_nextn_layer():
    """Glm4MoeModel: block_count = num_hidden_layers + num_nextn_predict_layers, the NextN tensors are written as
    blk.46.nextn.*; counters then run over n = 47 (use_more_bits(i, 47): i < 5, i >= 41, (i - 5) % 3 == 2)."""
    from ckptscope.analysis.arch import predict_inventory

    cfg = _config(GLM)
    inv = predict_inventory(cfg)  # the Hub layout: transformers' own build leaves the MTP layer out
    assert any(".layers.46." in t.name for t in inv)
    e = estimate_gguf(inv, cfg, "Q4_K_M", rules="head")
    names = {t.name for t in e.tensors}
    assert {"blk.46.nextn.eh_proj.weight", "blk.46.nextn.enorm.weight", "blk.46.nextn.hnorm.weight",
            "blk.46.nextn.shared_head_norm.weight"} <= names
    n = 47  # expert rows are 1408 (not a multiple of 256): Q6_K falls back to Q8_0, Q4_K to Q5_0
    want = sorted(i for i in range(1, n) if i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2)
    got = sorted(int(t.name.split(".")[1]) for t in e.tensors if t.name.endswith("ffn_down_exps.weight")
                 and t.type == "Q8_0")
    assert got == want and 46 in got
    assert _types(e, r"ffn_down_exps") == {"Q8_0": len(want), "Q5_0": 46 - len(want)}
    kv = {k.key: k.value for k in e.container.kvs}
    assert kv["glm4moe.block_count"] == 47


# ---- hand derivations from llama-quant.cpp ---------------------------------------------------------------------

def _types(e, pattern):
    out = {}
    for t in e.tensors:
        if re.search(pattern, t.name):
            out[t.type] = out.get(t.type, 0) + 1
    return out


def test_ssm_tensors_kept_or_quantized_like_llama_quantize():
    """Mamba-1 (mamba-130m-sized reference config): tensor_allows_quantization refuses ssm_conv1d, every *_norm and
    every name not ending in 'weight' (ssm_a, ssm_d, biases); ssm_in / ssm_x / ssm_dt / ssm_out are quantized.
    ssm_dt.weight rows are dt_rank = 48 long: Q4_K needs 256, the Q5_0 fallback 32 -> F16 (tensor_type_fallback);
    ssm_x rows are d_inner 1536 = 6 x 256 -> Q4_K."""
    e = estimate_gguf(_inventory("transformers__mamba"), _config("transformers__mamba"), "Q4_K_M")
    by = {t.name: t for t in e.tensors}
    assert by["blk.0.ssm_conv1d.weight"].type == "F32" and by["blk.0.ssm_conv1d.weight"].ne == (4, 1536)
    assert by["blk.0.ssm_a"].type == "F32" and by["blk.0.ssm_a"].ne == (16, 1536)
    assert by["blk.0.ssm_d"].type == "F32" and by["blk.0.ssm_dt.bias"].type == "F32"
    assert by["blk.0.ssm_in.weight"].type == "Q4_K" and by["blk.0.ssm_out.weight"].type == "Q4_K"
    assert by["blk.0.ssm_x.weight"].type == "Q4_K"
    assert by["blk.0.ssm_dt.weight"].ne == (48, 1536) and by["blk.0.ssm_dt.weight"].type == "F16"
    assert "output.weight" not in by and by["token_embd.weight"].type == "Q6_K"  # tied: output rule on token_embd


def test_mamba2_family_reshapes():
    """Mamba2Model.modify_tensors: A and D get a trailing 1 ((n,) -> (n, 1), ggml ne (1, n)); ssm_norm is viewed
    as (n_group, d_inner / n_group); conv1d squeezed. Checked on Mamba-2, Granite-4 hybrid and Nemotron-H."""
    for fx, groups in (("transformers__mamba2", "n_groups"), ("transformers__granitemoehybrid", "mamba_n_groups"),
                       ("transformers__nemotron_h", "n_groups")):
        raw = json.loads((CONFIGS / fx / "config.json").read_text())
        g = raw[groups]
        lay = map_tensors(_inventory(fx), _config(fx))
        by = {t.name: t for t in lay.tensors}
        hf = {t.name: t.shape for t in _inventory(fx)}
        a = next(n for n in hf if n.endswith("layers.0.mamba.A_log") or n.endswith("layers.0.mixer.A_log"))
        assert by["blk.0.ssm_a"].ne == (1, hf[a][0]), fx
        norm = next(n for n in hf if re.search(r"layers\.0\.(mamba|mixer)\.norm\.weight$", n))
        assert by["blk.0.ssm_norm.weight"].ne == (hf[norm][0] // g, g), fx
        conv = next(n for n in hf if re.search(r"layers\.0\.(mamba|mixer)\.conv1d\.weight$", n))
        assert by["blk.0.ssm_conv1d.weight"].ne == (hf[conv][2], hf[conv][0]), fx


def test_jamba_n_gqa_reads_layer_0():
    """JambaModel writes head_count_kv per layer, 0 on Mamba layers; llama.cpp's n_gqa() reads layer 0 (a Mamba
    layer, attn_layer_offset 4) -> 0, so Q2_K gives attn_v Q3_K although 32 / 8 = 4 heads share a KV head. Q4_K_M is
    unaffected; 16 experts: no n_expert == 8 branch."""
    inv, cfg = _inventory("transformers__jamba"), _config("transformers__jamba")
    assert cfg.num_attention_heads // cfg.num_key_value_heads == 4
    e = estimate_gguf(inv, cfg, "Q2_K")
    assert _types(e, r"attn_v\.weight") == {"Q3_K": 4}
    assert _types(e, r"attn_output\.weight") == {"Q3_K": 4}  # non-Falcon, n_expert != 8: Q2_K -> Q3_K
    e = estimate_gguf(inv, cfg, "Q4_K_M")
    # 4 attention layers (4, 12, 20, 28): the attn_v counter runs 0..3 of n = 4 -> use_more_bits(i, 4):
    # i < 0 no, i >= 3 yes, i % 3 == 2 yes -> i in {2, 3}
    assert sorted(int(t.name.split(".")[1]) for t in e.tensors if t.name.endswith("attn_v.weight")
                  and t.type == "Q6_K") == [20, 28]


def test_n_expert_8_branch_fires_for_nemotron_h_reference():
    """The Nemotron-H reference config has n_routed_experts 8: llama-quant's n_expert == 8 branch gives attn_v and
    attn_k Q8_0 and attn_output Q5_K (Q4_K_M), whatever the rest. Layer 0 is a Mamba layer: n_gqa 0."""
    e = estimate_gguf(_inventory("transformers__nemotron_h"), _config("transformers__nemotron_h"), "Q4_K_M")
    assert _types(e, r"attn_[vk]\.weight") == {"Q8_0": 2}
    assert _types(e, r"attn_output\.weight") == {"Q5_K": 1}
    assert e.arch == "nemotron_h_moe"
    # experts: up/down only (no gate). ffn_down_exps rows are the expert width 7688 = 240 x 32 + 8: neither Q4_K/Q6_K
    # nor their 32-block fallbacks divide it -> F16; ffn_up_exps rows are 4096 -> Q4_K
    assert _types(e, r"ffn_down_exps") == {"F16": 1} and _types(e, r"ffn_up_exps") == {"Q4_K": 1}
    assert not _types(e, r"ffn_gate_exps")


def test_dbrx_router_is_f16_not_f32():
    """DbrxModel.tensor_force_quant returns n_dims > 1, which skips the converter's forced-F32 list: the 2-D router
    ffn_gate_inp is written F16 (and never quantized by llama-quantize); norms stay F32. Experts: (E*F, H) viewed as
    (E, F, H), w2 permuted -> ffn_down_exps ne (F, H, E)."""
    cfg = _config("transformers__dbrx")
    e = estimate_gguf(_inventory("transformers__dbrx"), cfg, "Q4_K_M")
    by = {t.name: t for t in e.tensors}
    ffn = cfg.get("ffn_config")
    E, F, H = ffn["moe_num_experts"], ffn["ffn_hidden_size"], cfg.get("d_model")
    assert by["blk.0.ffn_gate_inp.weight"].type == "F16" and by["blk.0.ffn_gate_inp.weight"].ne == (H, E)
    assert by["blk.0.attn_norm.weight"].type == "F32"
    assert by["blk.0.ffn_down_exps.weight"].ne == (F, H, E)
    assert by["blk.0.ffn_gate_exps.weight"].ne == (H, F, E) and by["blk.0.ffn_up_exps.weight"].ne == (H, F, E)


def test_gpt_oss_mxfp4_experts_kept():
    """GptOssModel repacks the MXFP4 blocks as MXFP4 tensors; for any K-quant target they stay MXFP4 (llama-quantize
    only requantizes with --allow-requantize). Everything else follows the recipe: rows of 2880 = 11.25 x 256, so
    Q4_K -> Q5_0 and Q6_K -> Q8_0 fallbacks; output -> Q8_0 (R1: ne[0] not a multiple of 256)."""
    cfg = parse_config((CONFIGS / "openai__gpt-oss-120b" / "config.json").read_bytes())
    from ckptscope.analysis.arch import predict_inventory

    inv = predict_inventory(cfg)
    assert any(t.name.endswith("gate_up_proj_blocks") for t in inv)
    e = estimate_gguf(inv, cfg, "Q4_K_M")
    assert _types(e, r"_exps\.weight") == {"MXFP4": 3 * 36}
    assert next(t for t in e.tensors if t.name == "output.weight").type == "Q8_0"
    assert _types(e, r"attn_q\.weight") == {"Q5_0": 36}
    assert any("kept as they are" in a for a in e.assumptions)


def test_qwen3_next_ssm_and_split_shapes():
    """Qwen3NextModel: in_proj_qkvz (nk * (2 hk + 2 hv nv / nk), H) -> attn_qkv (2 nk hk + nv hv) + attn_gate (nv hv);
    A_log -> ssm_a, kept (nv,) (no Mamba-2 reshape); dt_bias -> ssm_dt.bias; conv1d (C, 1, K) -> ne (K, C);
    mtp.* dropped (filter_tensors)."""
    cfg = _config("transformers__qwen3_next")
    nk, hk, nv, hv = (cfg.get(k) for k in ("linear_num_key_heads", "linear_key_head_dim", "linear_num_value_heads",
                                           "linear_value_head_dim"))
    H = cfg.hidden_size
    inv = _inventory("transformers__qwen3_next") + [SimpleNamespace(name="mtp.fc.weight", shape=(H, 2 * H),
                                                                     dtype="BF16")]
    lay = map_tensors(inv, cfg)
    by = {t.name: t for t in lay.tensors}
    assert by["blk.0.attn_qkv.weight"].ne == (H, 2 * nk * hk + nv * hv)
    assert by["blk.0.attn_gate.weight"].ne == (H, nv * hv)
    assert by["blk.0.ssm_a"].ne == (nv,) and by["blk.0.ssm_dt.bias"].ne == (nv,)
    assert by["blk.0.ssm_conv1d.weight"].ne == (cfg.get("linear_conv_kernel_dim"), 2 * nk * hk + nv * hv)
    assert by["blk.0.ssm_ba.weight"].ne == (H, 2 * nv)
    assert sum(lay.dropped.values()) == 1 and "mtp.fc.weight" not in by


def test_llama4_experts_split_and_rope_freqs():
    """Llama4Model: experts.gate_up_proj (E, H, 2F) transposed and split -> ffn_gate_exps / ffn_up_exps ne (H, F, E);
    experts.down_proj (E, F, H) transposed -> ne (F, H, E); llama3 rope scaling -> generated rope_freqs (head_dim / 2)."""
    cfg = _config("transformers__llama4")
    inv = _inventory("transformers__llama4")
    gu = next(t.shape for t in inv if t.name.endswith("layers.0.feed_forward.experts.gate_up_proj"))
    E, H, F2 = gu
    lay = map_tensors(inv, cfg)
    by = {t.name: t for t in lay.tensors}
    assert by["blk.0.ffn_gate_exps.weight"].ne == (H, F2 // 2, E) == by["blk.0.ffn_up_exps.weight"].ne
    assert by["blk.0.ffn_down_exps.weight"].ne == (F2 // 2, H, E)
    rs = cfg.rope_scaling or {}
    if (rs.get("rope_type") or rs.get("type")) == "llama3":
        assert by["rope_freqs.weight"].ne == (cfg.head_dim // 2,)


def test_granitemoe_input_linear_split():
    """GraniteMoeModel: block_sparse_moe.input_linear (E, 2F, H) split in two -> ffn_gate_exps + ffn_up_exps
    ne (H, F, E); output_linear (E, H, F) -> ffn_down_exps ne (F, H, E); shared_mlp.input_linear (2S, H) ->
    ffn_gate_shexp + ffn_up_shexp (H, S) when the model has experts."""
    inv = _inventory("transformers__granitemoehybrid")
    cfg = _config("transformers__granitemoehybrid")
    shp = {t.name: t.shape for t in inv}
    E, F2, H = shp["model.layers.0.block_sparse_moe.input_linear.weight"]
    lay = map_tensors(inv, cfg)
    by = {t.name: t for t in lay.tensors}
    assert by["blk.0.ffn_gate_exps.weight"].ne == (H, F2 // 2, E) == by["blk.0.ffn_up_exps.weight"].ne
    assert by["blk.0.ffn_down_exps.weight"].ne == (F2 // 2, H, E)
    S2 = shp["model.layers.0.shared_mlp.input_linear.weight"][0]
    assert by["blk.0.ffn_gate_shexp.weight"].ne == (H, S2 // 2) == by["blk.0.ffn_up_shexp.weight"].ne


def test_internlm2_wqkv_split():
    """InternLM2Model: attention.wqkv ((nh + 2 nkv) hd, H) -> attn_q (H, nh hd), attn_k / attn_v (H, nkv hd).
    Real internlm2_5-7b-chat config (32 heads, 8 KV heads, hd 128), inventory from the architecture rules
    (hand-derived there: 7,737,708,544 parameters)."""
    from ckptscope.analysis.arch import predict_inventory

    cfg = parse_config((CONFIGS / "internlm__internlm2_5-7b-chat" / "config.json").read_bytes())
    inv = predict_inventory(cfg)
    lay = map_tensors(inv, cfg)
    by = {t.name: t for t in lay.tensors}
    assert lay.arch == "internlm2" and not lay.dropped
    assert by["blk.0.attn_q.weight"].ne == (4096, 4096)
    assert by["blk.0.attn_k.weight"].ne == (4096, 1024) == by["blk.0.attn_v.weight"].ne
    assert by["output.weight"].ne == (4096, 92544) and by["token_embd.weight"].ne == (4096, 92544)
    assert sum(t.numel for t in lay.tensors) == 7_737_708_544


def test_config_from_a_gguf_keeps_its_arch():
    """A config read back from a GGUF file carries gguf_architecture: that arch is used as it is."""
    cfg = from_dict({"model_type": "nemotron_h_moe", "gguf_architecture": "nemotron_h_moe", "hidden_size": 64,
                     "num_hidden_layers": 2, "num_attention_heads": 4})
    assert map_tensors([], cfg).arch == "nemotron_h_moe"
    cfg2 = dataclasses.replace(cfg)
    assert map_tensors([], cfg2).arch == "nemotron_h_moe"


NANO = FIXTURES / "gguf" / "configs" / "nvidia__NVIDIA-Nemotron-3-Nano-30B-A3B"


@pytest.mark.parametrize("ftype", ["Q4_0", "Q8_0", "Q2_K", "Q3_K_S", "Q3_K_M"])
def test_nemotron3_nano_matches_llamacpp_golden_listing(ftype):
    """NVIDIA-Nemotron-3-Nano-30B-A3B (real config.json; transformers' own meta build of it, fixtures/gguf/configs):
    nemotron_h_moe with Mamba-2 (ssm_*), MoE (up/down experts + shared expert) and attention layers by
    hybrid_override_pattern. n_embd 2688 is not a multiple of 256, so K-quants fall back (Q2_K/Q3_K -> Q4_0,
    Q4_K -> Q5_0, Q5_K -> Q5_1); layer 0 is a Mamba layer, so n_gqa is 0 (schema header: n_head_kv=0) and Q2_K's
    attn_v is Q3_K -> Q4_0. Exact match, HEAD rules."""
    default, want = _schema("nemotron-nano-3-30b-a3b.schema")[ftype]
    d = json.loads(gzip.decompress((NANO / "oracle.json.gz").read_bytes()))
    inv = [SimpleNamespace(name=n, shape=tuple(s), dtype=dt) for n, s, dt in d["tensors"]]
    cfg = parse_config((NANO / "config.json").read_bytes())
    e = estimate_gguf(inv, cfg, ftype, rules="head")
    assert e.arch == "nemotron_h_moe"
    assert _deviations(e, default) == want
