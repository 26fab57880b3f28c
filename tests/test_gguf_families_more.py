"""GGUF mapping for the families convert_more.py adds, and the families llama.cpp cannot convert.

Expected values do not come from ckptscope's code:

* tensor names: gguf-py's own ``get_tensor_name_map(arch, n_blocks).get_name`` (the call the converter makes in
  ``map_tensor_name``), fed the renames / splits each converter class makes first, written out here from
  ``conversion/<module>.py`` of ggml-org/llama.cpp (gpt_neox.py, bloom.py, falcon.py, phi.py, starcoder.py, olmo.py,
  lfm2.py, exaone.py, bailing.py, qwen.py, chatglm.py, baichuan.py, apertus.py, arcee.py);
* every GGUF name must be a tensor gguf-py's ``MODEL_TENSORS`` declares for the architecture;
* parameters: mapped + dropped = every element of the inventory (transformers 5.23's meta-device build in
  fixtures/oracle, or the architecture rules for remote-code families);
* split shapes and the per-converter drops: hand derivations written in the tests;
* sizes: a published model card (fixtures/gguf/published-sizes-more.json);
* support: ``conversion/__init__.py`` TEXT_MODEL_MAP (the converter's dispatch table).
"""

from __future__ import annotations

import gzip
import json
import re
from types import SimpleNamespace

import pytest

from ckptscope.analysis.arch import predict_inventory
from ckptscope.analysis.gguf import estimate_gguf
from ckptscope.analysis.gguf.convert_more import NotMapped, UnsupportedArchitecture
from ckptscope.analysis.gguf.mapping import map_tensors
from ckptscope.readers.config import from_dict, parse_config

from conftest import CONFIGS, FIXTURES

gguf = pytest.importorskip("gguf")

# fixture -> GGUF arch (the converter class's model_arch, file named)
FAMILIES = {
    "EleutherAI__pythia-6.9b-deduped": "gptneox",  # gpt_neox.py GPTNeoXModel
    "transformers__gpt_neox": "gptneox",
    "bigscience__bloom-560m": "bloom",  # bloom.py BloomModel
    "transformers__bloom": "bloom",
    "transformers__falcon": "falcon",  # falcon.py FalconModel
    "transformers__falcon__new_decoder": "falcon",
    "microsoft__phi-2": "phi2",  # phi.py Phi2Model
    "transformers__phi": "phi2",
    "transformers__gpt_bigcode": "starcoder",  # starcoder.py StarCoderModel
    "transformers__gpt_bigcode__mha": "starcoder",
    "transformers__olmo": "olmo",  # olmo.py OlmoModel
    "LiquidAI__LFM2-1.2B": "lfm2",  # lfm2.py LFM2Model
    "transformers__lfm2": "lfm2",
    "transformers__lfm2_moe": "lfm2moe",  # lfm2.py LFM2MoeModel
    "LGAI-EXAONE__EXAONE-3.0-7.8B-Instruct": "exaone",  # exaone.py ExaoneModel
    "transformers__exaone_moe": "exaone-moe",  # exaone.py ExaoneMoEModel
    "inclusionAI__Ling-lite-1.5": "bailingmoe",  # bailing.py BailingMoeModel
    "stvlynn__Qwen-7B-Chat-Cantonese": "qwen",  # qwen.py QwenModel
    "THUDM__chatglm2-6b": "chatglm",  # chatglm.py ChatGLMModel
    "transformers__apertus": "apertus",  # apertus.py ApertusModel
    "transformers__arcee": "arcee",  # arcee.py ArceeModel
    "transformers__gemma3n": "gemma3n",  # gemma.py Gemma3NModel (text part; towers go to mmproj)
    "transformers__gemma3n_text": "gemma3n",
}
_DROP_SUFFIX = (".attention.masked_bias", ".attention.bias", ".rotary_emb.inv_freq", ".rotary_pos_emb.inv_freq")


def _inventory(name, cfg):
    p = FIXTURES / "oracle" / f"{name}.json"
    if p.exists() or p.with_suffix(".json.gz").exists():
        d = json.loads(p.read_text() if p.exists() else gzip.decompress(p.with_suffix(".json.gz").read_bytes()))
        return [SimpleNamespace(name=n, shape=tuple(s), dtype=dt) for n, s, dt in d["tensors"]]
    return predict_inventory(cfg)  # remote-code families: the architecture rules' inventory


def _config(name):
    return parse_config((CONFIGS / name / "config.json").read_bytes())


def _arch_enum(arch):
    return next(a for a, n in gguf.MODEL_ARCH_NAMES.items() if n == arch)


def _declared(arch):
    return {gguf.TENSOR_NAMES[t] for t in gguf.MODEL_TENSORS[_arch_enum(arch)]}


def _base(name):
    return re.sub(r"\.(weight|bias)$", "", re.sub(r"^blk\.\d+\.", "blk.{bid}.", name))


def _expected(inv, cfg, arch, n_blocks):
    """GGUF names from gguf-py's TensorNameMap after each converter's own steps (written out from the source)."""
    saved = dict(gguf.TensorNameMap.block_mappings_cfg)  # the package updates this class dict per arch
    try:
        tmap = gguf.get_tensor_name_map(_arch_enum(arch), n_blocks)
    finally:
        gguf.TensorNameMap.block_mappings_cfg.clear()
        gguf.TensorNameMap.block_mappings_cfg.update(saved)
    out = set()
    for t in inv:
        name = t.name
        if name.endswith(_DROP_SUFFIX) or ".act_fn." in name:  # ModelBase / ApertusModel (xIELU scalars -> KVs)
            continue
        if any(k in name for k in ("vision_tower", "audio_tower", "embed_vision", "embed_audio")):
            continue  # TextModel.filter_tensors: multimodal tensors go to the mmproj file
        name = name.replace("language_model.", "")
        if arch == "gemma3n":
            if name.endswith("_scale"):  # Gemma3NModel.filter_tensors
                name += ".weight"
            name = re.sub(r"(altup_(?:unembed_)?projections)\.\d+\.weight$", r"\1.weight", name)  # stacked 3 -> 1
        if arch in ("bloom", "chatglm"):
            name = name.removeprefix("transformer.")  # BloomModel / ChatGLMModel.modify_tensors
        if name.endswith(".expert_bias"):  # LFM2MoeModel / BailingMoeV2Model.filter_tensors
            name += ".bias"
        if name.endswith("e_score_correction_bias"):  # ModelBase.filter_tensors
            name = name[: -len("_bias")] + ".bias"
        m = re.search(r"\.(?:layers|h)\.(\d+)\.", name)
        bid = m.group(1) if m else None
        em = re.match(r"^(.*\.experts)\.\d+\.(\w+)\.(weight)$", name)
        if em:  # stacked under the merged name; LFM2MoeModel's dst has no "model." prefix
            merged = f"{em.group(1)}.{em.group(2)}.weight"
            if arch == "lfm2moe":
                merged = merged.removeprefix("model.")
            g = tmap.get_name(merged, try_suffixes=(".weight", ".bias"))
            assert g is not None, merged
            out.add(g)
            continue
        if arch == "bailingmoe" and name.endswith("attention.query_key_value.weight"):
            out |= {f"blk.{bid}.attn_q.weight", f"blk.{bid}.attn_k.weight", f"blk.{bid}.attn_v.weight"}
            continue
        if arch == "bailingmoe" and name.endswith("attention.dense.weight"):
            out.add(f"blk.{bid}.attn_output.weight")
            continue
        if arch == "baichuan" and name.endswith("self_attn.W_pack.weight"):
            out |= {f"blk.{bid}.attn_q.weight", f"blk.{bid}.attn_k.weight", f"blk.{bid}.attn_v.weight"}
            continue
        g = tmap.get_name(name, try_suffixes=(".weight", ".bias"))
        assert g is not None, f"{arch}: gguf-py cannot map {name}"
        out.add(g)
    return out


def _prod(shape):
    p = 1
    for d in shape:
        p *= d
    return p


@pytest.mark.parametrize("fixture", sorted(FAMILIES))
def test_family_maps_like_the_converter(fixture):
    arch, cfg = FAMILIES[fixture], _config(fixture)
    inv = _inventory(fixture, cfg)
    lay = map_tensors(inv, cfg)
    assert lay.arch == arch
    names = [t.name for t in lay.tensors]
    assert len(names) == len(set(names)), "duplicate GGUF names"
    undeclared = sorted({_base(n) for n in names} - _declared(arch) - {"rope_freqs"})
    assert not undeclared, undeclared
    assert set(names) - {"rope_freqs.weight"} == _expected(inv, cfg, arch, lay.n_layer)
    allowed = {"buffers (rotary inv_freq, attention masks)", "vision/audio tower (written to a separate mmproj GGUF)",
               "apertus: xIELU activation scalars (written as key/values, not tensors)"}
    assert set(lay.dropped) <= allowed, lay.dropped
    generated = sum(t.numel for t in lay.tensors if t.name == "rope_freqs.weight")
    if arch == "gemma3n":  # Gemma3NModel pads both embedding tables to vocab_size rows (vision/audio token slots)
        v = cfg.get("vocab_size")
        generated += sum((v - t.shape[0]) * t.shape[1] for t in inv if t.name.endswith(
            ("embed_tokens.weight", "embed_tokens_per_layer.weight")) and t.shape[0] < v)
    assert sum(t.numel for t in lay.tensors) - generated + lay.dropped_params == sum(_prod(t.shape) for t in inv)


def test_pythia_tensor_list_by_hand():
    """GPT-NeoX keeps query_key_value fused (GPTNeoXModel only reorders rows): per layer attn_norm w+b, attn_qkv w+b,
    attn_output w+b, ffn_norm w+b, ffn_up w+b, ffn_down w+b = 12; plus token_embd, output (embed_out, untied),
    output_norm w+b = 4 -> 32 * 12 + 4 = 388. attn_qkv is [4096, 3 * 4096]."""
    cfg = _config("EleutherAI__pythia-6.9b-deduped")
    lay = map_tensors(_inventory("EleutherAI__pythia-6.9b-deduped", cfg), cfg)
    by = {t.name: t for t in lay.tensors}
    assert len(lay.tensors) == 32 * 12 + 4
    assert by["blk.0.attn_qkv.weight"].ne == (4096, 3 * 4096) and by["blk.0.attn_qkv.bias"].ne == (3 * 4096,)
    assert by["output.weight"].ne == (4096, 50432) and by["token_embd.weight"].base_type == "F16"
    assert by["blk.0.attn_qkv.bias"].base_type == "F32"


def test_bailing_qkv_split_by_hand():
    """BailingMoeModel splits query_key_value by [n_head, n_kv, n_kv] * head_dim = [16, 4, 4] * 128 rows and forces
    attention.dense to ATTN_OUT; experts (64 per layer) are stacked into [2048, 1408, 64] / [1408, 2048, 64]."""
    cfg = _config("inclusionAI__Ling-lite-1.5")
    lay = map_tensors(_inventory("inclusionAI__Ling-lite-1.5", cfg), cfg)
    by = {t.name: t.ne for t in lay.tensors}
    assert by["blk.5.attn_q.weight"] == (2048, 2048)
    assert by["blk.5.attn_k.weight"] == by["blk.5.attn_v.weight"] == (2048, 512)
    assert by["blk.5.attn_output.weight"] == (2048, 2048)
    assert by["blk.5.ffn_gate_exps.weight"] == (2048, 1408, 64) and by["blk.5.ffn_down_exps.weight"] == (1408, 2048, 64)
    assert by["blk.5.ffn_up_shexp.weight"] == (2048, 2 * 1408)
    assert "blk.5.attn_qkv.weight" not in by


def test_lfm2_shortconv_and_gqa():
    """LFM2Model squeezes conv.conv (C, 1, K) -> (C, K) and base.py forces SHORTCONV_CONV to F32 (never quantized);
    head_count_kv is written per layer with 0 for conv layers, and layer 0 is a conv layer, so llama.cpp's n_gqa()
    is 0 (attn_v gets no n_gqa >= 4 bump). Tied embeddings: no output.weight, token_embd takes the output rule."""
    cfg = _config("LiquidAI__LFM2-1.2B")
    lay = map_tensors(_inventory("LiquidAI__LFM2-1.2B", cfg), cfg)
    conv = next(t for t in lay.tensors if t.name == "blk.0.shortconv.conv.weight")
    assert conv.ne == (3, 2048) and conv.base_type == "F32"
    assert lay.n_gqa == 0 and "output.weight" not in {t.name for t in lay.tensors}
    e = estimate_gguf(_inventory("LiquidAI__LFM2-1.2B", cfg), cfg, "Q4_K_M")
    types = {t.name: t.type for t in e.tensors}
    assert types["blk.0.shortconv.conv.weight"] == "F32" and types["token_embd.weight"] == "Q6_K"
    # Q4_K_M attn_v: Q6_K where use_more_bits(i, 6): i < 6/8 = 0 no; i >= 7*6/8 = 5; (i - 0) % 3 == 2 -> i in {2, 5}
    # i counts attn_v tensors; the 6 attention layers are full_attn_idxs [2, 5, 8, 10, 12, 14]
    assert [types[f"blk.{b}.attn_v.weight"] for b in (2, 5, 8, 10, 12, 14)] == ["Q4_K", "Q4_K", "Q6_K", "Q4_K",
                                                                              "Q4_K", "Q6_K"]


def test_bloom_tied_head_and_embedding_norm():
    """BLOOM stores no lm_head (tied): the GGUF has no output.weight (llama.cpp reuses token_embd), and keeps
    word_embeddings_layernorm as token_embd_norm (w + b)."""
    cfg = _config("bigscience__bloom-560m")
    names = {t.name for t in map_tensors(_inventory("bigscience__bloom-560m", cfg), cfg).tensors}
    assert "output.weight" not in names and {"token_embd_norm.weight", "token_embd_norm.bias"} <= names
    assert len(names) == 24 * 12 + 5  # token_embd, token_embd_norm w+b, output_norm w+b


def test_baichuan_w_pack_split_and_bailing_v2_nextn():
    """BaichuanModel cuts W_pack into three equal row blocks (q, k, v); BailingMoeV2Model keeps its NextN layer
    (block_count = num_hidden_layers + num_nextn_predict_layers) and keeps query_key_value fused. Small hand-written
    configs (dimensions arbitrary), inventories from the architecture rules."""
    cfg = from_dict({"architectures": ["BaichuanForCausalLM"], "model_type": "baichuan", "hidden_size": 256,
                     "intermediate_size": 512, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 1000,
                     "max_position_embeddings": 4096})
    inv = predict_inventory(cfg)
    if inv is None:
        pytest.skip("no architecture rules for baichuan")
    lay = map_tensors(inv, cfg)
    by = {t.name: t.ne for t in lay.tensors}
    assert lay.arch == "baichuan" and by["blk.1.attn_q.weight"] == by["blk.1.attn_v.weight"] == (256, 256)
    assert {t.name for t in lay.tensors} == _expected(inv, cfg, "baichuan", 2)
    cfg = from_dict({"architectures": ["BailingMoeV2ForCausalLM"], "model_type": "bailing_moe_v2", "hidden_size": 256,
                     "intermediate_size": 512, "moe_intermediate_size": 128, "num_experts": 4, "num_shared_experts": 1,
                     "num_experts_per_tok": 2, "first_k_dense_replace": 1, "num_hidden_layers": 3,
                     "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64, "vocab_size": 1000,
                     "num_nextn_predict_layers": 1, "use_qk_norm": True, "moe_router_enable_expert_bias": True})
    inv = predict_inventory(cfg)
    if inv is None:
        pytest.skip("no architecture rules for bailing_moe_v2")
    lay = map_tensors(inv, cfg)
    names = {t.name for t in lay.tensors}
    assert lay.arch == "bailingmoe2" and lay.n_layer == 4
    assert {"blk.3.nextn.eh_proj.weight", "blk.1.attn_qkv.weight", "blk.1.exp_probs_b.bias"} <= names
    assert names == _expected(inv, cfg, "bailingmoe2", 4)


# ---- published sizes ----------------------------------------------------------------------------------------

PUB = json.loads((FIXTURES / "gguf" / "published-sizes-more.json").read_text())
LING = PUB["bartowski/inclusionAI_Ling-lite-0415-GGUF"]
MB = 10**6


@pytest.mark.parametrize("ftype", sorted(LING["sizes"]))
def test_ling_lite_bartowski_sizes(ftype):
    """bartowski's Ling-lite-0415 files (b5147, LEGACY rules, imatrix) against the prediction for the Ling-lite-1.5
    config (same dimensions). Tolerance 10 MB: 5 MB of rounding (2 decimals in GB) plus the metadata estimate made
    without tokenizer files (BPE vocabulary of 126,464 ids: tokens + merges ~5 MB, estimated to within ~1 MB;
    header, tensor infos and 32-byte alignment are computed exactly: 367 infos, < 32 B padding each)."""
    cfg = _config("inclusionAI__Ling-lite-1.5")
    e = estimate_gguf(_inventory("inclusionAI__Ling-lite-1.5", cfg), cfg, ftype, rules="legacy", imatrix=True)
    assert e.arch == "bailingmoe"
    assert abs(e.total_bytes - LING["sizes"][ftype] * 1e9) <= 10 * MB, e.total_bytes


@pytest.mark.parametrize("name", sorted(LING["sizes_q8_embed_output"]))
def test_ling_lite_bartowski_q8_embed_output_variants(name):
    """bartowski's "_L" files: the same recipe with --token-embedding-type Q8_0 --output-tensor-type Q8_0."""
    cfg = _config("inclusionAI__Ling-lite-1.5")
    ft = name.replace("_L", "_M") if name.startswith("Q5") else name.replace("_L", "")
    e = estimate_gguf(_inventory("inclusionAI__Ling-lite-1.5", cfg), cfg, ft, rules="legacy", imatrix=True,
                      output_type="Q8_0", token_embd_type="Q8_0")
    assert abs(e.total_bytes - LING["sizes_q8_embed_output"][name] * 1e9) <= 10 * MB, e.total_bytes


# ---- no converter: said plainly ----------------------------------------------------------------------------

UNSUPPORTED = {
    "facebook__opt-350m": "OPTForCausalLM",
    "transformers__gptj": "GPTJForCausalLM",
    "transformers__mllama": "MllamaForConditionalGeneration",
    "github-av1611__whisper-large-et": "WhisperForConditionalGeneration",
    "transformers__minimax": "MiniMaxForCausalLM",
    "transformers__paligemma": "PaliGemmaForConditionalGeneration",
    "transformers__llava_next": "LlavaNextForConditionalGeneration",
    "github-smolvla__smolvlm2-500m-video-instruct": "SmolVLMForConditionalGeneration",  # mmproj only
}


@pytest.mark.parametrize("fixture", sorted(UNSUPPORTED))
def test_no_converter_is_an_error(fixture):
    """None of these architectures is a key of conversion/__init__.py TEXT_MODEL_MAP (@ 00bdaa1):
    convert_hf_to_gguf.py stops with 'Architecture ... not supported', so there is no GGUF size to predict."""
    cfg = _config(fixture)
    with pytest.raises(UnsupportedArchitecture, match=UNSUPPORTED[fixture]):
        map_tensors(_inventory(fixture, cfg) or [], cfg)


def test_unmappable_tensors_are_an_error():
    """Falcon-RW style blocks (parallel_attn false: post_attention_layernorm) and Phi with qk_layernorm have tensors
    gguf-py's TensorNameMap has no name for under falcon / phi2: the converter raises 'Can not map tensor'."""
    for fx, arch in (("transformers__falcon__sequential", "falcon"), ("transformers__phi__qk_layernorm", "phi2")):
        cfg = _config(fx)
        with pytest.raises(UnsupportedArchitecture, match=f"no GGUF name for arch {arch}"):
            map_tensors(_inventory(fx, cfg), cfg)


def test_unmapped_family_is_an_error():
    """MPT (MPTForCausalLM) is in llama.cpp's TEXT_MODEL_MAP, but ckptscope maps no MPT converter: NotMapped, no
    number (instead of naming tensors by guess)."""
    cfg = from_dict({"architectures": ["MPTForCausalLM"], "model_type": "mpt", "d_model": 256, "n_layers": 2,
                     "n_heads": 4, "vocab_size": 1000})
    with pytest.raises(NotMapped, match="model_type mpt"):
        map_tensors([SimpleNamespace(name="transformer.wte.weight", shape=(1000, 256), dtype="BF16")], cfg)


def test_deci_variable_blocks():
    """DeciModel maps every tensor through TensorNameMap; block_configs vary per layer: a linear-attention layer
    (replace_with_linear) keeps only self_attn.linear_attn -> attn_output, an attention-free layer (no_op) has no
    attn_* at all. head_count_kv is per layer: n_gqa() = n_heads_in_group of layer 0 = 8. A linear-replaced FFN
    (mlp.linear_mlp) has no GGUF name for arch deci, so the fixture as published cannot be converted; with those two
    FFNs made ordinary the names match gguf-py's map."""
    raw = json.loads((CONFIGS / "github-trtllm__nemotron-nas-mini" / "config.json").read_text())
    cfg = from_dict(raw)
    with pytest.raises(UnsupportedArchitecture, match="linear_mlp"):
        map_tensors(predict_inventory(cfg), cfg)
    for b in raw["block_configs"]:
        if b["ffn"].get("replace_with_linear"):
            b["ffn"] = {"ffn_mult": 2.0, "no_op": False, "replace_with_linear": False}
    cfg = from_dict(raw)
    inv = predict_inventory(cfg)
    lay = map_tensors(inv, cfg)
    names = {t.name for t in lay.tensors}
    assert lay.arch == "deci" and lay.n_gqa == 8
    assert names == _expected(inv, cfg, "deci", 14)
    assert "blk.2.attn_output.weight" in names and "blk.2.attn_q.weight" not in names  # linear attention
    assert not any(n.startswith("blk.3.attn_") for n in names)  # attention-free block


def test_gemma3n_stacks_and_pads_by_hand():
    """Gemma3NModel: altup_projections.{0,1,2} (H, H) -> one altup_proj [H, H, 3]; embed_tokens_per_layer
    (vocab_size_per_layer_input 262144, 35 * 256) padded to vocab_size 262400 rows; altup / laurel /
    per_layer_model_proj are never quantized (llama-quant.cpp), altup_correct_coef is forced F32 (base.py)."""
    cfg = _config("transformers__gemma3n_text")
    inv = _inventory("transformers__gemma3n_text", cfg)
    e = estimate_gguf(inv, cfg, "Q4_K_M")
    by = {t.name: t for t in e.tensors}
    assert by["altup_proj.weight"].ne == (2048, 2048, 3) and by["altup_proj.weight"].type == "F16"
    assert by["per_layer_token_embd.weight"].ne == (35 * 256, 262400)
    assert by["token_embd.weight"].ne == (2048, 262400)
    assert by["blk.0.altup_correct_coef.weight"].type == "F32"
    assert by["blk.0.laurel_l.weight"].type == "F16" and by["per_layer_model_proj.weight"].type == "F16"
    assert by["blk.0.attn_q.weight"].type == "Q4_K"


def test_cli_says_so_in_one_line(run_cli):
    code, out, err = run_cli("estimate", CONFIGS / "facebook__opt-350m", "--quant", "q4_k_m")
    assert code == 2 and "OPTForCausalLM" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    code, out, err = run_cli("estimate", CONFIGS / "inclusionAI__Ling-lite-1.5", "--quant", "q8_0", "--json")
    assert code == 0, err
    d = json.loads(out)["quantization"]["schemes"]["Q8_0"]
    assert d["arch"] == "bailingmoe" and abs(d["bytes"] - 17.87e9) <= 10 * MB


def test_exaone_moe_keeps_mtp_layers():
    """ExaoneMoEModel keeps the MTP block: block_count = num_hidden_layers + num_nextn_predict_layers; the
    ``mtp.layers.0.*`` tensors become layer 4 (here) and mtp.fc / pre_fc_norm_embedding / pre_fc_norm_hidden /
    norm become blk.4.nextn.eh_proj / enorm / hnorm / shared_head_norm. The MTP tensors are added by hand to the
    reference inventory (transformers builds no MTP module): a copy of layer 0 plus the four NextN tensors."""
    raw = json.loads((CONFIGS / "transformers__exaone_moe" / "config.json").read_text())
    inv = _inventory("transformers__exaone_moe", from_dict(raw))
    n, h = raw["num_hidden_layers"], raw["hidden_size"]
    mtp = [SimpleNamespace(name=t.name.replace("model.layers.0.", "mtp.layers.0."), shape=t.shape, dtype=t.dtype)
           for t in inv if t.name.startswith("model.layers.0.")]
    mtp += [SimpleNamespace(name=f"mtp.{k}.weight", shape=s, dtype="BF16") for k, s in (
        ("fc", (h, 2 * h)), ("pre_fc_norm_embedding", (h,)), ("pre_fc_norm_hidden", (h,)), ("norm", (h,)))]
    raw["num_nextn_predict_layers"] = 1
    lay = map_tensors(inv + mtp, from_dict(raw))
    names = {t.name for t in lay.tensors}
    assert lay.n_layer == n + 1
    assert {f"blk.{n}.nextn.eh_proj.weight", f"blk.{n}.nextn.enorm.weight", f"blk.{n}.nextn.hnorm.weight",
            f"blk.{n}.nextn.shared_head_norm.weight", f"blk.{n}.attn_q.weight"} <= names
    assert next(t for t in lay.tensors if t.name == f"blk.{n}.nextn.eh_proj.weight").ne == (2 * h, h)


_SMALL = {"hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2, "num_attention_heads": 4,
          "num_key_value_heads": 2, "vocab_size": 1000}


@pytest.mark.parametrize("extra,arch", [
    ({"architectures": ["GlmForCausalLM"], "model_type": "glm", "head_dim": 64}, "chatglm"),  # chatglm.py
    ({"architectures": ["RWForCausalLM"], "model_type": "RefinedWeb", "n_layer": 2, "n_head": 4,
      "parallel_attn": True, "new_decoder_architecture": False}, "falcon"),  # falcon.py registers RWForCausalLM
    ({"architectures": ["BailingMoeForCausalLM"], "model_type": "bailing_moe", "num_experts": 4,
      "num_shared_experts": 1, "num_experts_per_tok": 2, "moe_intermediate_size": 128,
      "first_k_dense_replace": 0}, "bailingmoe"),  # arch bailingmoe declares no dense FFN_* tensors
])
def test_small_configs_without_fixtures(extra, arch):
    """Families with no reference inventory in fixtures/: a small hand-written config (dimensions arbitrary), the
    architecture rules' inventory, names checked against gguf-py's map as above."""
    cfg = from_dict({**_SMALL, **extra})
    inv = predict_inventory(cfg)
    if inv is None:
        pytest.skip(f"no architecture rules for {extra['model_type']}")
    lay = map_tensors(inv, cfg)
    assert lay.arch == arch
    assert {t.name for t in lay.tensors} == _expected(inv, cfg, arch, lay.n_layer)


def test_starcoder_types_legacy_q4_k_m():
    """StarCoder (gpt_bigcode): wpe -> position_embd, written F32 and never quantized (base.py / llama-quant.cpp);
    c_attn stays fused as attn_qkv, which the LEGACY rules give Q5_K in every layer for Q4_K_M (the attn_qkv
    branch), and the HEAD rules treat like attn_v (Q6_K where use_more_bits, else Q4_K); no lm_head in the
    checkpoint (tied), so token_embd takes the output rule (Q6_K)."""
    cfg = _config("transformers__gpt_bigcode")
    inv = _inventory("transformers__gpt_bigcode", cfg)
    legacy = {t.name: t.type for t in estimate_gguf(inv, cfg, "Q4_K_M", rules="legacy").tensors}
    head = {t.name: t.type for t in estimate_gguf(inv, cfg, "Q4_K_M", rules="head").tensors}
    n = cfg.num_hidden_layers
    assert legacy["position_embd.weight"] == "F32" and legacy["token_embd.weight"] == "Q6_K"
    assert "output.weight" not in legacy
    assert {legacy[f"blk.{i}.attn_qkv.weight"] for i in range(n)} == {"Q5_K"}
    assert head["blk.0.attn_qkv.weight"] == "Q6_K"  # use_more_bits(0, 12): 0 < 12 / 8 = 1
    assert head["blk.1.attn_qkv.weight"] == "Q4_K"  # 1 >= 1, 1 < 7 * 12 / 8 = 10, (1 - 1) % 3 != 2
