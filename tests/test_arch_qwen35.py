"""Qwen3.5 (families/qwen35.py): the Hub layout the oracle cannot show (MTP layer, fused main-stack experts, the
text-only prefix), layouts read back off real names, and the memory planner's view of the DeltaNet layers.

The oracle tests (tests/test_arch_oracle.py) check the transformers-5 layout tensor by tensor; here the expected
numbers come from the fixture configs (widths, expert counts) and from published figures.
"""

from __future__ import annotations

import copy
import gzip
import json

from ckptscope.analysis.arch import infer_layout, layer_kinds, predict_inventory
from ckptscope.analysis.memory import kv_layout
from ckptscope.readers.config import from_dict

from tests.conftest import FIXTURES

DENSE = "Qwen__Qwen3.5-0.8B"
MOE = "AEON-7__Ornith-1.0-35B-AEON-Ultimate-Uncensored-BF16"
LM = "model.language_model."


def _raw(stem):
    return json.loads((FIXTURES / "configs" / stem / "config.json").read_text())


def _oracle_names(stem):
    for p in (FIXTURES / "oracle" / f"{stem}.json", FIXTURES / "oracle" / f"{stem}.json.gz"):
        if p.exists():
            data = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
            return [n for n, _, _ in json.loads(data)["tensors"]]
    raise FileNotFoundError(stem)


def _inv(raw, layout=None):
    inv = predict_inventory(from_dict(raw), layout=layout)
    assert inv is not None
    return inv


def test_moe_hub_layout_fuses_the_main_experts_and_splits_the_mtp_experts():
    """Qwen3.5-MoE Hub files: 3-D experts.gate_up_proj (E, 2 x moe width, H) / down_proj (E, H, moe width) in every
    main layer, the MTP layer's 256 experts one by one (mtp.layers.0.mlp.experts.<j>.{gate,up,down}_proj)."""
    raw = _raw(MOE)
    t = raw["text_config"]
    E, MI, H, L = t["num_experts"], t["moe_intermediate_size"], t["hidden_size"], t["num_hidden_layers"]
    shapes = {x.name: x.shape for x in _inv(raw)}
    for i in range(L):
        assert shapes[f"{LM}layers.{i}.mlp.experts.gate_up_proj"] == (E, 2 * MI, H)
        assert shapes[f"{LM}layers.{i}.mlp.experts.down_proj"] == (E, H, MI)
    assert not any(n.startswith(LM) and ".experts.0." in n for n in shapes)
    mtp_experts = [n for n in shapes if n.startswith("mtp.layers.0.mlp.experts.")]
    assert len(mtp_experts) == 3 * E
    assert shapes["mtp.fc.weight"] == (H, 2 * H)
    assert shapes["mtp.layers.0.self_attn.q_proj.weight"] == (2 * t["num_attention_heads"] * t["head_dim"], H)


def test_moe_total_matches_the_published_parameter_count():
    """Qwen3.5-35B-A3B: 35.95B parameters on the Hub (code-index id 60328099440, "from the Hub config.json": all
    stored tensors, the vision tower and the MTP layer included); the fine-tune's config has the same sizes."""
    total = sum(x.numel for x in _inv(_raw(MOE)))
    assert round(total / 1e9, 2) == 35.95


def test_fused_and_per_expert_layouts_hold_the_same_parameters():
    raw = _raw(MOE)
    fused = sum(x.numel for x in _inv(raw, {"fused_experts": True}))
    split = _inv(raw, {"fused_experts": False})
    assert fused == sum(x.numel for x in split)
    assert sum(1 for x in split if x.name.startswith(LM) and ".mlp.experts." in x.name) == 3 * 256 * 40


def test_layout_read_off_transformers5_names_reproduces_them():
    """Names as transformers 5 saves a model it built (the oracle): no mtp.*, per-expert names. The layout read
    off them gives back exactly those names."""
    for stem in (DENSE, MOE, "transformers__qwen3_5_text", "transformers__qwen3_5_moe_text"):
        names = _oracle_names(stem)
        c = from_dict(_raw(stem))
        lay = infer_layout(c, names)
        assert lay["mtp"] is False, stem
        assert {x.name for x in predict_inventory(c, layout=lay)} == set(names), stem


def test_mtp_layer_follows_the_config_count():
    raw = _raw(DENSE)
    names = {x.name for x in _inv(raw)}
    assert {"mtp.fc.weight", "mtp.norm.weight", "mtp.layers.0.mlp.gate_proj.weight"} <= names
    raw0 = copy.deepcopy(raw)
    raw0["text_config"]["mtp_num_hidden_layers"] = 0
    assert not any(n.startswith("mtp.") for n in (x.name for x in _inv(raw0)))
    # Hub names with mtp.* switch it on when read back
    c = from_dict(raw)
    assert infer_layout(c, sorted(names))["mtp"] is True


def test_text_only_prefix_follows_the_names():
    """A text-only Qwen3_5ForCausalLM file re-saved from the multimodal checkpoint keeps model.language_model.;
    one transformers built from the text config has model.layers."""
    raw = _raw("transformers__qwen3_5_text")
    c = from_dict(raw)
    hub = {x.name for x in _inv(raw)}
    assert f"{LM}layers.0.linear_attn.in_proj_qkv.weight" in hub
    own = _oracle_names("transformers__qwen3_5_text")
    assert "model.layers.0.linear_attn.in_proj_qkv.weight" in own
    assert infer_layout(c, own)["lm_prefix"] is False
    assert infer_layout(c, sorted(hub))["lm_prefix"] is True


def test_deltanet_projections_are_kept_apart():
    """Qwen3_5GatedDeltaNet: in_proj_qkv (2 key dims + value dim), in_proj_z (value dim), in_proj_b / in_proj_a
    (one row per value head); no in_proj_qkvz / in_proj_ba (Qwen3-Next's)."""
    raw = _raw(DENSE)
    t = raw["text_config"]
    kd = t["linear_num_key_heads"] * t["linear_key_head_dim"]
    vd = t["linear_num_value_heads"] * t["linear_value_head_dim"]
    H, nv = t["hidden_size"], t["linear_num_value_heads"]
    s = {x.name: x.shape for x in _inv(raw)}
    p = f"{LM}layers.0.linear_attn."
    assert s[p + "in_proj_qkv.weight"] == (2 * kd + vd, H)
    assert s[p + "in_proj_z.weight"] == (vd, H)
    assert s[p + "in_proj_b.weight"] == s[p + "in_proj_a.weight"] == (nv, H)
    assert s[p + "conv1d.weight"] == (2 * kd + vd, 1, t["linear_conv_kernel_dim"])
    assert not any("in_proj_qkvz" in n or "in_proj_ba" in n for n in s)


def test_vision_tower_has_no_deepstack_mergers_whatever_the_config_says():
    """Qwen3_5VisionModel deletes Qwen3-VL's deepstack_merger_list; a config listing indexes changes nothing."""
    raw = _raw(DENSE)
    base = {x.name for x in _inv(raw)}
    raw2 = copy.deepcopy(raw)
    raw2["vision_config"]["deepstack_visual_indexes"] = [2, 5, 8]
    assert {x.name for x in _inv(raw2)} == base
    assert not any("deepstack" in n for n in base)


def test_layer_types_default_to_every_fourth_layer_full_attention():
    """Without layer_types (and full_attention_interval), Qwen3_5TextConfig makes every 4th layer full attention."""
    raw = _raw("transformers__qwen3_5_moe_text")
    raw.pop("layer_types")
    raw["num_hidden_layers"] = 8
    kinds = layer_kinds(from_dict(raw))["layers"]
    assert kinds == ["gated_deltanet"] * 3 + ["attention"] + ["gated_deltanet"] * 3 + ["attention"]


def test_memory_planner_keeps_a_constant_state_on_the_deltanet_layers():
    """Qwen3.5-0.8B: 18 DeltaNet layers with a fixed per-sequence state (16 value heads x 128 x 128 recurrent +
    conv over 2 x 16 x 128 + 16 x 128 channels x kernel 4, in bf16), 6 full-attention layers caching
    2 KV heads x 256 for K and for V per token."""
    c = from_dict(_raw(DENSE))
    kv = kv_layout(c)
    assert kv.counts == {"state": 18, "full": 6}
    state = [L for L in kv.layers if L.kind == "state"]
    assert {L.state_bytes for L in state} == {(16 * 128 * 128 + (2 * 16 * 128 + 16 * 128) * 4) * 2}
    assert all(L.k_values == 0 and L.v_values == 0 for L in state)
    full = [L for L in kv.layers if L.kind == "full"]
    assert [L.index for L in full] == [3, 7, 11, 15, 19, 23]
    assert {(L.k_values, L.v_values) for L in full} == {(2 * 256, 2 * 256)}
