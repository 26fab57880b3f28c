"""HF -> GGUF mapping for every family llama.cpp's converter supports and the architecture rules know.

Input: the oracle inventories (transformers 5.23's own meta-device build of each reference config,
fixtures/oracle/) and the fixture configs. Expected values do not come from ckptscope's mapping:

* GGUF architecture: the ``model_arch`` of the class llama.cpp registers for that HF architecture (read in
  ggml-org/llama.cpp conversion/*.py; the file is named next to each entry below);
* tensor names: gguf-py's own ``TensorNameMap`` (the table the converter calls through ``map_tensor_name``), fed the
  renames the converter's ``filter_tensors``/``modify_tensors`` make first (hand-written here from the source:
  ``language_model.`` stripped, ``e_score_correction_bias`` -> ``.bias``, ``dt_bias`` -> ``dt_proj.bias``, per-expert
  tensors merged under the name the converter gives the stack) plus the per-family splits written out below;
* every GGUF name must be a tensor gguf-py's ``MODEL_TENSORS`` declares for the architecture;
* parameters: the GGUF file holds every HF element that is not dropped (vision towers go to the mmproj file).
"""

from __future__ import annotations

import gzip
import json
import re
from types import SimpleNamespace

import pytest

from ckptscope.analysis.gguf.mapping import map_tensors
from ckptscope.readers.config import parse_config

from conftest import CONFIGS, FIXTURES

gguf = pytest.importorskip("gguf")

# family fixture -> GGUF arch, with the llama.cpp converter file that says so
FAMILIES = {
    "transformers__qwen3_next": "qwen3next",  # qwen.py Qwen3NextModel
    "transformers__glm4": "glm4",  # glm.py Glm4Model
    "transformers__glm4_moe": "glm4moe",  # glm.py Glm4MoeModel
    "transformers__llama4": "llama4",  # llama.py Llama4Model
    "transformers__gemma3": "gemma3",  # gemma.py Gemma3Model
    "transformers__olmo2": "olmo2",  # olmo.py
    "transformers__olmo3": "olmo2",  # olmo.py (Olmo3 keeps the OLMo-2 arch)
    "transformers__olmoe": "olmoe",  # olmo.py
    "transformers__cohere": "command-r",  # command_r.py
    "transformers__cohere2": "cohere2",  # command_r.py
    "transformers__starcoder2": "starcoder2",
    "transformers__stablelm": "stablelm",
    "transformers__minicpm3": "minicpm3",  # minicpm.py
    "transformers__exaone4": "exaone4",  # exaone.py
    "transformers__ernie4_5": "ernie4_5",  # ernie.py Ernie4_5Model
    "transformers__ernie4_5_moe": "ernie4_5-moe",  # ernie.py Ernie4_5MoeModel
    "transformers__hunyuan_v1_dense": "hunyuan-dense",  # hunyuan.py
    "transformers__hunyuan_v1_moe": "hunyuan-moe",  # hunyuan.py
    "transformers__smollm3": "smollm3",  # llama.py SmolLM3Model
    "transformers__seed_oss": "seed_oss",
    "transformers__granite": "granite",  # granite.py GraniteModel
    "transformers__granitemoe": "granitemoe",  # granite.py GraniteMoeModel
    "transformers__granitemoeshared": "granitemoe",  # granite.py GraniteMoeModel (registered for both)
    "transformers__granitemoehybrid": "granitehybrid",  # granite.py GraniteHybridModel
    "transformers__nemotron": "nemotron",  # nemotron.py
    "transformers__nemotron_h": "nemotron_h_moe",  # nemotron.py: MoE arch when num_experts_per_tok is set
    "transformers__falcon_h1": "falcon-h1",  # falcon_h1.py FalconH1Model
    "transformers__jamba": "jamba",  # jamba.py JambaModel
    "transformers__mamba": "mamba",  # mamba.py MambaModel
    "transformers__mamba2": "mamba2",  # mamba.py Mamba2Model
    "transformers__phimoe": "phimoe",  # phi.py
    "transformers__dbrx": "dbrx",  # dbrx.py DbrxModel
    "transformers__minimax_m2": "minimax-m2",  # minimax.py
    "transformers__mistral3": "mistral3",  # mistral3.py Ministral3Model
    "transformers__qwen2_vl": "qwen2vl",  # qwen.py
    "transformers__qwen2_5_vl": "qwen2vl",  # qwen.py (Qwen2.5-VL text uses the qwen2vl arch)
    "transformers__qwen3_vl": "qwen3vl",  # qwen.py
    "transformers__qwen3_vl_moe": "qwen3vlmoe",  # qwen.py
}
ALLOWED_DROPS = {"vision/audio tower (written to a separate mmproj GGUF)"}


def _inventory(name):
    p = FIXTURES / "oracle" / f"{name}.json"
    d = json.loads(p.read_text() if p.exists() else gzip.decompress(p.with_suffix(".json.gz").read_bytes()))
    return [SimpleNamespace(name=n, shape=tuple(s), dtype=dt) for n, s, dt in d["tensors"]]


def _config(name):
    return parse_config((CONFIGS / name / "config.json").read_bytes())


def _arch_enum(arch):
    return next(a for a, n in gguf.MODEL_ARCH_NAMES.items() if n == arch)


def _declared(arch):
    return {gguf.TENSOR_NAMES[t] for t in gguf.MODEL_TENSORS[_arch_enum(arch)]}


def _base(name):
    """blk.7.ffn_up_exps.weight -> blk.{bid}.ffn_up_exps (the TENSOR_NAMES form)."""
    name = re.sub(r"^blk\.\d+\.", "blk.{bid}.", name)
    return re.sub(r"\.(weight|bias)$", "", name)


# ---- the converter's renames and splits, written out from conversion/*.py ------------------------------------

_EXPERT = re.compile(r"^(.*)\.(?:mlp|block_sparse_moe|feed_forward|mixer)\.experts\.\d+\.(\w+)\.(weight|bias)$")


def _expected_names(inv, cfg, arch):
    """The GGUF names (numbers kept) derived with gguf-py's TensorNameMap + the splits of each converter class."""
    n_blocks = (cfg.num_hidden_layers or len(cfg.get("layers_block_type") or ())) + cfg.num_nextn_predict_layers
    tmap = gguf.get_tensor_name_map(_arch_enum(arch), n_blocks)
    out = set()
    for t in inv:
        name = t.name
        if any(s in name for s in ("vision_tower", "vision_model", "visual.", "multi_modal_projector")):
            continue
        name = name.replace("language_model.", "")  # TextModel.filter_tensors
        if name.endswith("e_score_correction_bias"):  # ModelBase.filter_tensors
            name = name.replace("e_score_correction_bias", "e_score_correction.bias")
        if name.endswith(".dt_bias"):  # Mamba2Model / Qwen3NextModel.modify_tensors
            name = name[: -len(".dt_bias")] + ".dt_proj.bias"
        m = re.search(r"\.(?:layers|blocks)\.(\d+)\.", name)
        bid = int(m.group(1)) if m else None
        em = _EXPERT.match(name)
        if em:  # experts are stacked and mapped under the merged name (Qwen2MoeModel, JambaModel, LlamaModel, ...)
            proj = {"w1": "gate_proj", "w3": "up_proj", "w2": "down_proj"}.get(em.group(2), em.group(2))
            out.add(f"blk.{bid}." + {"gate_proj": "ffn_gate_exps", "up_proj": "ffn_up_exps",
                                     "down_proj": "ffn_down_exps"}[proj] + "." + em.group(3))
            continue
        if name.endswith("linear_attn.in_proj_qkvz.weight"):  # Qwen3NextModel: ATTN_QKV + ATTN_GATE
            out |= {f"blk.{bid}.attn_qkv.weight", f"blk.{bid}.attn_gate.weight"}
            continue
        if name.endswith("block_sparse_moe.input_linear.weight"):  # GraniteMoeModel: FFN_GATE_EXP + FFN_UP_EXP
            out |= {f"blk.{bid}.ffn_gate_exps.weight", f"blk.{bid}.ffn_up_exps.weight"}
            continue
        if name.endswith("shared_mlp.input_linear.weight"):  # GraniteMoeModel: shared gate/up (shexp with experts)
            sfx = "_shexp" if cfg.num_experts else ""
            out |= {f"blk.{bid}.ffn_gate{sfx}.weight", f"blk.{bid}.ffn_up{sfx}.weight"}
            continue
        if re.search(r"feed_forward\.experts\.gate_up_proj$", name):  # Llama4Model splits gate_up
            out |= {f"blk.{bid}.ffn_gate_exps.weight", f"blk.{bid}.ffn_up_exps.weight"}
            continue
        if re.search(r"mlp\.experts\.gate_up_proj$", name):  # fused v5 layout -> gate/up stacks
            out |= {f"blk.{bid}.ffn_gate_exps.weight", f"blk.{bid}.ffn_up_exps.weight"}
            continue
        if re.search(r"experts\.down_proj$", name) or re.search(r"ffn\.experts\.mlp\.(w1|v1|w2)$", name):
            name += ".weight"  # Llama4Model / DbrxModel add the .weight suffix before mapping
        g = tmap.get_name(name, try_suffixes=(".weight", ".bias"))
        assert g is not None, f"{arch}: gguf-py cannot map {name}"
        out.add(g)
    return out


@pytest.mark.parametrize("fixture", sorted(FAMILIES))
def test_family_maps_to_declared_gguf_tensors(fixture):
    arch = FAMILIES[fixture]
    inv, cfg = _inventory(fixture), _config(fixture)
    lay = map_tensors(inv, cfg)
    assert lay.arch == arch
    assert set(lay.dropped) <= ALLOWED_DROPS, lay.dropped
    declared = _declared(arch)
    undeclared = sorted({_base(t.name) for t in lay.tensors} - declared)
    assert not undeclared, f"{arch} does not declare {undeclared}"
    names = [t.name for t in lay.tensors]
    assert len(names) == len(set(names)), "duplicate GGUF names"
    assert set(names) == _expected_names(inv, cfg, arch)
    # every element of the text model is in the file: mapped + dropped = the whole inventory
    assert sum(t.numel for t in lay.tensors) + lay.dropped_params == sum(
        _prod(t.shape) for t in inv)


def _prod(shape):
    p = 1
    for d in shape:
        p *= d
    return p


def test_converter_skips_tied_heads_and_cohere2_biases():
    """HunYuan*Model.modify_tensors skips lm_head.weight when the config ties it; Cohere2Model skips every .bias
    (llama.cpp's runtime has none; they are all zero). Checked on the reference inventories plus the extra tensor."""
    inv = _inventory("transformers__hunyuan_v1_dense")
    raw = json.loads((CONFIGS / "transformers__hunyuan_v1_dense" / "config.json").read_text())
    raw["tie_word_embeddings"] = True
    from ckptscope.readers.config import from_dict

    emb = next(t for t in inv if t.name == "model.embed_tokens.weight")
    extra = [SimpleNamespace(name="lm_head.weight", shape=emb.shape, dtype=emb.dtype)]
    lay = map_tensors([t for t in inv if t.name != "lm_head.weight"] + extra, from_dict(raw))
    assert "output.weight" not in {t.name for t in lay.tensors} and sum(lay.dropped.values()) == 1
    inv = _inventory("transformers__cohere2")
    bias = [SimpleNamespace(name="model.layers.0.self_attn.q_proj.bias", shape=(8192,), dtype="BF16")]
    lay = map_tensors(inv + bias, _config("transformers__cohere2"))
    assert "blk.0.attn_q.bias" not in {t.name for t in lay.tensors} and sum(lay.dropped.values()) == 1


def test_minicpm_names():
    """MiniCPM (Llama naming, tied head; no real config in the fixtures): the architecture rules' inventory for a
    small MiniCPM config maps to names gguf-py's TensorNameMap gives for arch minicpm. Dimensions are arbitrary:
    this checks names only."""
    from ckptscope.analysis.arch import predict_inventory
    from ckptscope.readers.config import from_dict

    cfg = from_dict({"architectures": ["MiniCPMForCausalLM"], "model_type": "minicpm", "hidden_size": 256,
                     "intermediate_size": 512, "num_hidden_layers": 2, "num_attention_heads": 4,
                     "num_key_value_heads": 4, "vocab_size": 1024, "tie_word_embeddings": True})
    inv = predict_inventory(cfg)
    if inv is None:
        pytest.skip("no architecture rules for minicpm")
    lay = map_tensors(inv, cfg)
    assert lay.arch == "minicpm" and not lay.dropped
    assert {t.name for t in lay.tensors} == _expected_names(inv, cfg, "minicpm")
    assert not {_base(t.name) for t in lay.tensors} - _declared("minicpm")
