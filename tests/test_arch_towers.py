"""Multimodal and audio families (#12): every tower counted as its own component, Hub layouts vs transformers 5,
the audio fallback. The name-by-name equality with transformers' meta build is tests/test_arch_oracle.py; here:
hand derivations, the layout inference from real-style names, the components a report shows."""

from __future__ import annotations

import json

import pytest

from ckptscope.analysis.arch import estimate_inventory, infer_layout, predict_inventory
from ckptscope.analysis.arch.fallback import APPROX
from ckptscope.analysis.classify import AUDIO, COMPONENT_LABELS, COMPONENTS, PROJECTOR, VISION, component_of
from ckptscope.readers.config import from_dict
from ckptscope.readers.validate_config import validate_config

from tests.conftest import CONFIGS, FIXTURES


def _cfg(name):
    return json.loads((CONFIGS / name / "config.json").read_text())


def _oracle(stem):
    return json.loads((FIXTURES / "oracle" / f"{stem}.json").read_text())


def _by_comp(inv):
    out: dict[str, int] = {}
    for t in inv:
        out[t.component] = out.get(t.component, 0) + t.numel
    return out


def test_gemma3n_hub_layout_keeps_kv_of_the_shared_layers():
    """Hub checkpoints (transformers 4.53) carry k/v projections and k norms for the KV-shared layers too;
    transformers 5 builds none for them. Gemma3nTextConfig(): 35 layers, the last 15 shared, so layers 20..34;
    2 KV heads x head_dim 256 = 512 rows over hidden 2048."""
    c = from_dict(_cfg("transformers__gemma3n"))
    hub = {t.name: t for t in predict_inventory(c)}
    oracle = {n for n, _, _ in _oracle("transformers__gemma3n")["tensors"]}
    extra = set(hub) - oracle
    want = {f"model.language_model.layers.{i}.self_attn.{w}" for i in range(20, 35)
            for w in ("k_proj.weight", "v_proj.weight", "k_norm.weight")}
    assert extra == want and oracle <= set(hub)
    assert sum(hub[n].numel for n in extra) == 15 * (2 * 512 * 2048 + 256)


def test_gemma3n_layout_read_off_the_names():
    c = from_dict(_cfg("transformers__gemma3n"))
    t5_names = [n for n, _, _ in _oracle("transformers__gemma3n")["tensors"]]
    assert infer_layout(c, t5_names) == {"kv_shared_weights": False}
    hub_names = [t.name for t in predict_inventory(c)]
    assert infer_layout(c, hub_names) == {"kv_shared_weights": True}


def test_gemma3n_towers_are_components_of_their_own():
    """The vision tower (timm MobileNetV5), the audio tower (USM conformer) and the two embedders are counted apart
    from the text model, and the name classification a report uses agrees with the rules."""
    inv = predict_inventory(from_dict(_cfg("transformers__gemma3n")))
    comp = _by_comp(inv)
    # timm 1.0.31 mobilenetv5_300m_enc: 294,126,912 parameters (sum(p.numel()) of timm.create_model on the meta
    # device, run once by hand; the oracle's model.vision_tower.* tensors sum to the same)
    vision = sum(_prod(s) for n, s, _ in _oracle("transformers__gemma3n")["tensors"] if ".vision_tower." in n)
    assert comp[VISION] == vision == 294_126_912
    assert comp[AUDIO] > 0 and comp[PROJECTOR] > 0
    for t in inv:
        if t.component in (VISION, AUDIO, PROJECTOR):
            assert component_of(t.name) == t.component, t.name
    # embedder = 128 soft tokens x tower width + 2 norms + projection to the text width 2048
    assert comp[PROJECTOR] == (128 * 2048 + 2 * 2048 + 2048 * 2048) + (128 * 1536 + 2 * 1536 + 2048 * 1536)
    # the per-layer embedding table is an embedding, not "other"
    assert component_of("model.language_model.embed_tokens_per_layer.weight") == "embedding"


def _prod(s):
    n = 1
    for x in s:
        n *= x
    return n


def test_gemma3n_matformer_widths_validate():
    raw = _cfg("transformers__gemma3n")
    assert validate_config(raw) == []
    raw["text_config"]["intermediate_size"][3] = -1
    issues = validate_config(raw)
    assert [i.field for i in issues] == ["text_config.intermediate_size[3]"]


def test_whisper_large_hand_derivation():
    """whisper-large (d_model 1280, 32+32 layers, FFN 5120, 80 mel bins, 1500/448 positions, vocab 51865), tied
    output projection. Encoder: conv1 1280*80*3+1280, conv2 1280*1280*3+1280, positions 1500*1280; per layer
    4 attention matrices + 3 biases (k_proj has none), 2 layer norms, fc1/fc2 with biases; final norm."""
    d, f, V = 1280, 5120, 51865
    attn = 4 * d * d + 3 * d
    mlp = 2 * d * f + f + d
    enc = (d * 80 * 3 + d) + (d * d * 3 + d) + 1500 * d + 32 * (attn + 2 * 2 * d + mlp) + 2 * d
    dec = V * d + 448 * d + 32 * (2 * attn + 3 * 2 * d + mlp) + 2 * d
    inv = predict_inventory(from_dict(_cfg("github-av1611__whisper-large-et")))
    assert sum(t.numel for t in inv) == enc + dec == 1_543_304_960
    assert _by_comp(inv)[AUDIO] == enc
    assert "proj_out.weight" not in {t.name for t in inv}


def test_qwen2_audio_real_config_fills_text_defaults():
    """Qwen2-Audio-7B's text_config gives no hidden size or layer count (Qwen2Config() defaults: 4096, 32 layers,
    32 heads); the projector maps the 1280-wide encoder to 4096 with a bias."""
    inv = {t.name: t for t in predict_inventory(from_dict(_cfg("github-unfolder__qwen2-audio-7b")))}
    assert inv["multi_modal_projector.linear.weight"].shape == (4096, 1280)
    assert inv["language_model.model.embed_tokens.weight"].shape == (156032, 4096)
    assert inv["language_model.lm_head.weight"].shape == (156032, 4096)
    assert sum(n.startswith("audio_tower.layers.") and n.endswith("fc1.weight") for n in inv) == 32


@pytest.mark.parametrize("stem", ["transformers__llava", "transformers__paligemma", "transformers__llava_onevision"])
def test_vision_model_prefix_read_off_the_names(stem):
    """transformers 5 saves a CLIP/SigLIP tower as vision_tower.*, checkpoints written by 4.x (the Hub's) as
    vision_tower.vision_model.*: the rules predict the latter and follow the names when headers are there."""
    c = from_dict(_cfg(stem))
    t5 = [n for n, _, _ in _oracle(stem)["tensors"]]
    assert infer_layout(c, t5) == {"vision_model": False}
    hub = [n.replace("vision_tower.", "vision_tower.vision_model.", 1) for n in t5]
    assert infer_layout(c, hub) == {"vision_model": True}
    assert sorted(t.name for t in predict_inventory(c)) == sorted(hub)


def test_projector_is_a_component_with_a_label():
    assert PROJECTOR in COMPONENTS and COMPONENT_LABELS[PROJECTOR] == "multimodal projector"
    for name in ("multi_modal_projector.linear_1.weight", "model.multi_modal_projector.mm_input_projection_weight",
                 "model.embed_vision.embedding_projection.weight", "model.connector.modality_projection.proj.weight",
                 "visual.merger.mlp.0.weight", "model.visual.deepstack_merger_list.0.linear_fc1.weight"):
        assert component_of(name) == PROJECTOR, name
    assert component_of("vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight") == VISION
    assert component_of("audio_tower.layers.0.fc1.weight") == AUDIO


def test_text_tensors_leave_towers_and_projector_out():
    from types import SimpleNamespace

    from ckptscope.checks.config import text_tensors

    names = ["multi_modal_projector.linear_1.weight", "multi_modal_projector.linear_1.weight_scale",
             "vision_tower.vision_model.post_layernorm.weight", "language_model.model.norm.weight"]
    ck = SimpleNamespace(tensors=[SimpleNamespace(name=n) for n in names])
    assert [t.name for t in text_tensors(ck)] == ["language_model.model.norm.weight"]


def test_fallback_counts_the_audio_config():
    """An audio-language config under an unknown family: the generic estimate now counts the audio encoder and a
    projector (it ignored audio_config) and lands within 5% of the rules."""
    raw = _cfg("github-unfolder__qwen2-audio-7b")
    exact = sum(t.numel for t in predict_inventory(from_dict(raw)))
    # an unknown family has no class defaults to lean on: state the Qwen2Config() numbers the real config omits
    raw["text_config"].update(hidden_size=4096, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32)
    raw["architectures"], raw["model_type"] = ["SomeNewAudioForConditionalGeneration"], "some_new_audio"
    inv, basis, _ = estimate_inventory(from_dict(raw), allow_meta=False)
    assert basis == APPROX
    got = sum(t.numel for t in inv)
    audio = sum(t.numel for t in inv if t.component == AUDIO)
    assert audio > 0 and any(t.component == PROJECTOR for t in inv)
    assert abs(got - exact) / exact < 0.05, (got, exact)


def _sparse_checkpoint(tmp_path, stem, rename=lambda n: n):
    """A local folder: the config + one sparse safetensors file holding the oracle's tensors (transformers' meta
    build: names, shapes, dtypes), optionally renamed to another save layout."""
    from tests.stwriter import write_st

    o = _oracle(stem)
    d = tmp_path / stem
    d.mkdir()
    (d / "config.json").write_text((FIXTURES.parent / o["config"]).read_text())
    write_st(d / "model.safetensors", {rename(n): (dt, s) for n, s, dt in o["tensors"]})
    return d


@pytest.mark.parametrize("stem,rename", [
    ("transformers__llava", None),  # transformers 5's save names
    ("transformers__llava", lambda n: n.replace("vision_tower.", "vision_tower.vision_model.", 1)),  # the Hub's
    ("transformers__gemma3n", None),
    ("transformers__qwen2_audio", None),
    ("transformers__mllama", None),
])
def test_inspect_reconciles_headers_and_shows_each_tower(run_cli, tmp_path, stem, rename):
    folder = _sparse_checkpoint(tmp_path, stem, rename or (lambda n: n))
    code, out, err = run_cli("inspect", folder, "--json")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["reconciliation"]["status"] == "exact", rep["reconciliation"]["summary"]
    comps = {k: (v["parameters"] if isinstance(v, dict) else v) for k, v in rep["parameters"]["by_component"].items()}
    tower = {"transformers__qwen2_audio": AUDIO}.get(stem, VISION)
    assert comps[tower] > 0 and comps[PROJECTOR] > 0
    if stem == "transformers__gemma3n":
        assert comps[AUDIO] > 0
    else:  # everything else has a named place, the head under language_model. included
        assert "other" not in comps, comps


def test_kv_planner_leaves_gemma3n_shared_layers_without_cache():
    """Gemma3nTextConfig(): 35 layers, the last 15 reuse K/V of earlier layers (transformers' Gemma3nTextAttention
    updates the cache only for non-shared layers): 20 layers keep a cache, 4 of them global (every 5th)."""
    from ckptscope.analysis.memory.kv import kv_layout

    lay = kv_layout(from_dict(_cfg("transformers__gemma3n")))
    assert [x.index for x in lay.layers] == list(range(20))
    assert sum(x.kind == "full" for x in lay.layers) == 4
