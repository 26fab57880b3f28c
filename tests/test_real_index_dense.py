"""Architecture rules vs what REAL Hub repositories store: dense and vision-language families.

Each folder in fixtures/real_index/<org__name>/ (the ones listed in CORPUS) holds a real repository's
``config.json`` (verbatim) and its ``model.safetensors.index.json`` as read from a public git mirror of the Hub
repo (SOURCE.md: repository, commit, path):

- ``weight_map_keys.txt``: every weight_map key, transcribed in brace notation (``{a..b}`` = each integer a to b);
- ``index_facts.json``: the index's ``metadata`` verbatim (``total_size`` = stored bytes), the file's JSON layout
  and its length in characters as the search index reported it (``file_chars``).

The transcription is checked first: the index rebuilt from the keys (every shard file name of a repository has
the same length, so the text length does not depend on which shard a tensor sits in) must have exactly the real
file's length. Then, from config.json alone (no headers: the held-out check's setting), the predicted tensor names
must equal the weight_map keys and the predicted stored bytes must equal ``metadata.total_size``. Where the
difference is a checkpoint quirk a config cannot show, the test names it (QUIRK) and checks that the
reconciliation explains it with exactly that quirk.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ckptscope.analysis.arch import family_name, infer_layout, predict_inventory, reconcile
from ckptscope.readers.config import parse_config

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "real_index"

#: folder -> the family the dispatch must pick (from config.json's architectures / model_type)
CORPUS = {
    "BrianYAU-NTEC__olmOCR": "qwen2_vl",
    "Ibtasam-98__medgemma-27b-it": "gemma3",
    "YouriLalain__3PRYMMAL-PHI3-3B-SLERP": "phi3",
    "auraecosystem__llama-65b-hf": "llama",
    "gsasouza__dolphin3-mistral": "mistral",
    "rwang220__yida_model": "qwen3",
    "XS-Wu__digital_person_1": "qwen2",
    "colorfulandcjy0806__cjy_chat": "internlm2",
    "maxma233__timelyMeal": "gemma3_text",
    "NanSang2000__S1mpleAgent": "internlm2",
    "YinghaoHu__LegalHalBench": "chatglm",
    "bjornerikkorum__RUTERGPT13B": "llama",
}

#: folder -> real total_size minus predicted bytes, where a config.json cannot settle a stored tensor's dtype:
#: RUTERGPT13B keeps its 40 rotary buffers (64 values each) in fp32 next to fp16 weights; the prediction uses the
#: checkpoint dtype (as LLaMA-65B's conversion stores them), so it is 40 x 64 x (4 - 2) bytes short.
BUFFER_DTYPE_GAP = {"bjornerikkorum__RUTERGPT13B": 40 * 64 * (4 - 2)}

def _expand(pattern: str) -> list[str]:
    m = re.search(r"\{(\d+)\.\.(\d+)\}", pattern)
    if not m:
        return [pattern]
    out = []
    for i in range(int(m.group(1)), int(m.group(2)) + 1):
        out += _expand(pattern[: m.start()] + str(i) + pattern[m.end():])
    return out


def _keys(folder: Path) -> list[str]:
    lines = (folder / "weight_map_keys.txt").read_text().splitlines()
    return [k for line in lines if line.strip() and not line.startswith("#") for k in _expand(line.strip())]


def _facts(folder: Path) -> dict:
    return json.loads((folder / "index_facts.json").read_text())


def _config(folder: Path):
    return parse_config((folder / "config.json").read_bytes(), str(folder / "config.json"))


class _T:  # a stored tensor as the reconciliation sees it (the index gives names only)
    def __init__(self, name, dtype, shape):
        self.name, self.dtype, self.shape = name, dtype, shape


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_transcription_has_the_real_files_length(name):
    folder = ROOT / name
    keys, facts = _keys(folder), _facts(folder)
    assert len(keys) == len(set(keys)), "a key transcribed twice"
    index = {"metadata": facts["metadata"], "weight_map": {k: facts["shard_name"] for k in sorted(keys)}}
    fmt = facts["format"]
    if fmt in ("indent2", "indent2_crlf"):  # transformers' save_pretrained: sorted keys, indent 2, final newline
        text = json.dumps(index, indent=2) + "\n"
        if fmt == "indent2_crlf":  # committed from Windows
            text = text.replace("\n", "\r\n")
    elif fmt == "indent4":  # sorted keys, indent 4, no final newline (RUTERGPT13B's writer)
        text = json.dumps(index, indent=4)
    elif fmt == "compact":  # mergekit
        text = json.dumps(index)
    else:  # "indent4_weight_map_first": transformers 4.28's Llama converter (no final newline)
        assert fmt == "indent4_weight_map_first"
        text = json.dumps({"weight_map": index["weight_map"], "metadata": index["metadata"]}, indent=4)
    assert len(text) == facts["file_chars"]
    assert (folder / "SOURCE.md").exists()


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_config_only_prediction_equals_the_real_index(name):
    folder = ROOT / name
    c = _config(folder)
    assert family_name(c) == CORPUS[name]
    inv = predict_inventory(c)
    assert inv is not None
    predicted = {t.name for t in inv}
    real = set(_keys(folder))
    assert sorted(predicted - real) == [] and sorted(real - predicted) == []
    assert len(inv) == len(real)
    assert sum(t.nbytes for t in inv) + BUFFER_DTYPE_GAP.get(name, 0) == _facts(folder)["metadata"]["total_size"]


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_layout_read_off_the_names_keeps_the_prediction(name):
    """With headers, the layout options inferred from the real names must not move the prediction off them."""
    folder = ROOT / name
    c = _config(folder)
    real = set(_keys(folder))
    inv = predict_inventory(c, infer_layout(c, sorted(real)) or None)
    assert {t.name for t in inv} == real


def test_llama_written_by_transformers_4_28_stores_rotary_buffers():
    """LLaMA-65B as converted by transformers 4.28: every layer stores ``rotary_emb.inv_freq``. The config says
    4.28, so the config-only prediction includes them; without them, the reconciliation names the 80 extra real
    tensors as the persisted_buffer quirk, and they are the whole byte difference: 80 x (128 / 2) fp16 values."""
    folder = ROOT / "auraecosystem__llama-65b-hf"
    c = _config(folder)
    real = _keys(folder)
    buffers = {k for k in real if k.endswith("rotary_emb.inv_freq")}
    assert len(buffers) == 80
    bare = predict_inventory(c, {"inv_freq": False})
    by_name = {t.name: t for t in bare}
    actual = [_T(n, by_name[n].dtype, by_name[n].shape) if n in by_name else _T(n, "F16", (64,)) for n in real]
    r = reconcile(bare, actual)
    assert r.exact_but_quirks and {i.name for i in r.items} == buffers
    assert [q["kind"] for q in r.quirks] == ["persisted_buffer"] and r.quirks[0]["count"] == 80
    total = _facts(folder)["metadata"]["total_size"]
    assert total - sum(t.nbytes for t in bare) == 80 * 64 * 2


@pytest.mark.parametrize("name, projector", [
    ("Ibtasam-98__medgemma-27b-it", {"multi_modal_projector.mm_input_projection_weight",
                                     "multi_modal_projector.mm_soft_emb_norm.weight"}),
    ("BrianYAU-NTEC__olmOCR", {f"visual.merger.{n}" for n in ("ln_q.bias", "ln_q.weight", "mlp.0.bias", "mlp.0.weight",
                                                              "mlp.2.bias", "mlp.2.weight")}),
])
def test_projector_is_its_own_component(name, projector):
    """The real repos' projector tensors (listed here from their index) are component ``projector``, both in the
    prediction and when the real names are classified; the rest of each tower stays ``vision_tower``."""
    from ckptscope.analysis.classify import component_of

    folder = ROOT / name
    inv = predict_inventory(_config(folder))
    assert {t.name for t in inv if t.component == "projector"} == projector
    real = _keys(folder)
    assert {n for n in real if component_of(n) == "projector"} == projector
    tower = {n for n in real if n.startswith(("vision_tower.", "visual."))} - projector
    assert tower and {component_of(n) for n in tower} == {"vision_tower"}
    assert {t.component for t in inv if t.name in tower} == {"vision_tower"}


def test_chatglm_total_by_hand():
    """GLM-4-9B-chat's stored total from its config.json by hand (remote modeling_chatglm.py): per layer qkv
    (32 + 2 x 2) x 128 = 4608 rows x 4096 + 4608 bias, dense 4096 x 4096, dense_h_to_4h 2 x 13696 x 4096,
    dense_4h_to_h 4096 x 13696, two norms of 4096; embedding and output layer 151552 x 4096 each; final norm 4096;
    rotary inv_freq 128 / 2 / 2 = 32 values. In bf16 this is the real index's total_size."""
    per_layer = 4608 * 4096 + 4608 + 4096 * 4096 + 2 * 13696 * 4096 + 4096 * 13696 + 2 * 4096
    params = 40 * per_layer + 2 * 151552 * 4096 + 4096 + 32
    folder = ROOT / "YinghaoHu__LegalHalBench"
    assert 2 * params == _facts(folder)["metadata"]["total_size"] == 18_799_902_784
    inv = predict_inventory(_config(folder))
    assert sum(t.numel for t in inv) == params
    assert [t.component for t in inv if t.name.endswith("inv_freq")] == ["buffer"]


def test_chatglm_sizes_by_padded_vocab_and_refuses_what_it_does_not_cover():
    """The remote code sizes word_embeddings / output_layer by padded_vocab_size (ChatGLM3-6B: 65,024 while
    its tokenizer has fewer ids); ChatGLM-6B v1 (no ffn_hidden_size) and GLM-4V (vision_config) get no rules
    rather than a wrong inventory."""
    from ckptscope.analysis.arch import try_predict
    from ckptscope.readers.config import from_dict

    raw = json.loads((ROOT / "YinghaoHu__LegalHalBench" / "config.json").read_text())
    c = from_dict({**raw, "vocab_size": 64794, "padded_vocab_size": 65024}, "config.json")
    inv = {t.name: t for t in predict_inventory(c)}
    assert inv["transformer.embedding.word_embeddings.weight"].shape == (65024, 4096)
    assert inv["transformer.output_layer.weight"].shape == (65024, 4096)
    v1 = {k: v for k, v in raw.items() if k != "ffn_hidden_size"}
    inv, why = try_predict(from_dict(v1, "config.json"))
    assert inv is None and "v1" in why
    inv, why = try_predict(from_dict({**raw, "vision_config": {"num_layers": 63}}, "config.json"))
    assert inv is None and "GLM-4V" in why


def test_llama2_13b_gap_is_exactly_fp32_rotary_buffers():
    """RUTERGPT13B by hand: embeddings + head 2 x 32000 x 5120, per layer 4 x 5120^2 (q/k/v/o) + 3 x 5120 x 13824
    (MLP) + 2 x 5120 (norms), final norm 5120 = 13,015,864,320 fp16 parameters; the index's total is that plus
    40 x 64 inv_freq values of 4 bytes: the buffers are fp32 here. The prediction has every name, with the
    buffers in the checkpoint dtype."""
    params = 2 * 32000 * 5120 + 40 * (4 * 5120 * 5120 + 3 * 5120 * 13824 + 2 * 5120) + 5120
    folder = ROOT / "bjornerikkorum__RUTERGPT13B"
    total = _facts(folder)["metadata"]["total_size"]
    assert 2 * params + 40 * 64 * 4 == total
    inv = predict_inventory(_config(folder))
    buffers = [t for t in inv if t.name.endswith("rotary_emb.inv_freq")]
    assert len(buffers) == 40 and {(t.shape, t.dtype, t.component) for t in buffers} == {((64,), "F16", "buffer")}
    assert total - sum(t.nbytes for t in inv) == BUFFER_DTYPE_GAP["bjornerikkorum__RUTERGPT13B"]


def test_index_total_parameters_counts_a_tied_head_that_is_not_stored():
    """medgemma-27b-it's index metadata says total_parameters 28,842,036,848 but total_size / 2 = 27,432,406,640
    stored bf16 values: the difference is exactly the tied LM head, 262,208 x 5,376, which the file does not hold.
    The Hub total (stored elements) is total_size's, and that is what the rules predict."""
    folder = ROOT / "Ibtasam-98__medgemma-27b-it"
    meta = _facts(folder)["metadata"]
    inv = predict_inventory(_config(folder))
    stored = sum(t.numel for t in inv)
    assert 2 * stored == meta["total_size"]
    assert meta["total_parameters"] - stored == 262208 * 5376
    assert not any(t.name.endswith("lm_head.weight") for t in inv)
