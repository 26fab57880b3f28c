"""Each shortcut the speed work added gives what the plain path gives, on real material:

- header validation: the fast path (each distinct dtype/shape checked once, used when one search of the JSON text
  shows plain integers only) vs every check on every entry, on every real header in fixtures/ and in the catalog;
- tokenizer.json: the id -> token list built lazily from the vocabulary vs the list derived by hand from the
  file's JSON, on the real DeepSeek-V3, Llama 3 and Qwen3 tokenizers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ckptscope.readers.safetensors import validate_header
from ckptscope.readers.tokenizer import from_tokenizer_json

ROOT = Path(__file__).resolve().parent.parent


def _real_headers():
    """(label, JSON text) of every real safetensors header in fixtures/ (files and header dumps)."""
    for p in sorted((ROOT / "fixtures").rglob("*.safetensors")):
        raw = p.read_bytes()
        n = int.from_bytes(raw[:8], "little")
        yield str(p.relative_to(ROOT)), raw[8:8 + n].decode("utf-8"), len(raw) - 8 - n
    for p in sorted((ROOT / "fixtures" / "headers").rglob("*.json")):
        if p.name != "manifest.json":
            yield str(p.relative_to(ROOT)), p.read_text(), None


def _both(text: str, data_size):
    n = len(text.encode())
    size = None if data_size is None else 8 + n + data_size
    fast = validate_header(json.loads(text), "f", size, n, strict=False, text=text)
    plain = validate_header(json.loads(text), "f", size, n, strict=False, text=None)
    return fast, plain


def _same(fast, plain):
    assert fast.tensors == plain.tensors
    assert [(p.code, p.message, p.tensor) for p in fast.problems] == [(p.code, p.message, p.tensor)
                                                                      for p in plain.problems]
    assert fast.metadata == plain.metadata


def test_header_fast_path_equals_every_check_on_real_headers():
    seen = 0
    for label, text, data_size in _real_headers():
        fast, plain = _both(text, data_size)
        _same(fast, plain)
        seen += len(plain.tensors)
    assert seen > 3000


def test_header_fast_path_equals_every_check_on_damaged_real_headers():
    """A real header with one entry's span, one dtype and one shape broken: both paths report the same problems."""
    label, text, data_size = max(_real_headers(), key=lambda h: len(h[1]))
    obj = json.loads(text)
    names = [k for k in obj if k != "__metadata__" and len(obj[k]["shape"]) == 2]
    obj[names[3]]["data_offsets"][1] += 2
    obj[names[5]]["dtype"] = "F7"
    obj[names[7]]["shape"] = [obj[names[7]]["shape"][0], -1]
    bad = json.dumps(obj)
    fast, plain = _both(bad, None)
    _same(fast, plain)
    assert {p.code for p in plain.problems} >= {"ST005", "ST006", "ST007"}


def test_header_fast_path_equals_every_check_on_catalog_headers():
    """The catalog's reconstructed headers of DeepSeek-V3/R1, Qwen3-235B, Mixtral..., re-encoded as JSON text."""
    from ckptscope.api import open_checkpoint

    for p in sorted((ROOT / "ckptscope" / "catalog").glob("*.ckpt.gz"))[:6]:
        ck = open_checkpoint(p.name[: -len(".ckpt.gz")].replace("__", "/"), catalog=True, tokenizer=False)
        h = max(ck.headers, key=lambda h: len(h.tensors))
        text = json.dumps({t.name: {"dtype": t.dtype, "shape": list(t.shape), "data_offsets": [t.start, t.end]}
                           for t in h.tensors})
        fast, plain = _both(text, None)
        _same(fast, plain)
        assert len(fast.tensors) == len(h.tensors)


@pytest.mark.parametrize("name", ["deepseek_v3", "llama3", "qwen3"])
def test_lazy_token_list_equals_the_files_vocabulary(name):
    path = ROOT / "fixtures" / "tokenizers" / name / "tokenizer.json"
    raw = path.read_bytes()
    obj = json.loads(raw)
    want: dict[int, str] = {}
    for tok, i in obj["model"]["vocab"].items():  # by hand: the vocabulary, then the added tokens over it
        want[i] = tok
    for a in obj["added_tokens"]:
        want[a["id"]] = a["content"]
    info = from_tokenizer_json(raw)
    assert info.max_id == max(want)
    assert len(info.tokens) == max(want) + 1
    toks = list(info.tokens)
    assert {i: t for i, t in enumerate(toks) if i in want} == want
    assert all(t == "" for i, t in enumerate(toks) if i not in want)


def _placed_plain(ck):
    from ckptscope.analysis.classify import classify
    from ckptscope.checks.config import _text

    return [(t, classify(t.name)) for t in ck.tensors if _text(t.name)]


@pytest.mark.parametrize("repo", ["deepseek-ai/DeepSeek-V3", "Qwen/Qwen3-30B-A3B", "meta-llama/Llama-3.2-1B"])
def test_check_text_tensors_equal_the_per_name_rule(repo):
    """check's language-model tensors: one search over all quantization side-tensor names vs _text per tensor; on
    the catalog's real layouts, then with a vision tower's FP8 scale added (which must leave the text set)."""
    from ckptscope.api import open_checkpoint
    from ckptscope.checks.config import _placed_text
    from ckptscope.readers.safetensors import TensorInfo

    ck = open_checkpoint(repo, catalog=True, tokenizer=False)
    assert _placed_text(ck) == _placed_plain(ck)
    ck2 = open_checkpoint(repo, catalog=True, tokenizer=False)
    tower = TensorInfo("model.vision_tower.blocks.0.attn.qkv.weight_scale_inv", "F32", (8, 8), "x.safetensors")
    ck2.tensors = ck2.tensors + [tower]
    got = _placed_text(ck2)
    assert got == _placed_plain(ck2) and tower not in [t for t, _ in got]
    assert len(got) == len(_placed_text(ck))


def _name_sets():
    """Real tensor-name lists: catalog layouts, real index files, fixture headers (Granite MoE's fused experts)."""
    from ckptscope.api import open_checkpoint

    for p in sorted((ROOT / "ckptscope" / "catalog").glob("*.ckpt.gz"))[:8]:
        yield [t.name for t in open_checkpoint(p.name[:-8].replace("__", "/"), catalog=True, tokenizer=False).tensors]
    for p in sorted((ROOT / "fixtures" / "real_index").glob("*/*.index.json")):
        yield list(json.loads(p.read_text())["weight_map"])
    yield [n for _, text, _ in _real_headers() for n in json.loads(text) if n != "__metadata__"]


def test_joined_name_searches_equal_per_name_searches():
    """check's one-search-over-all-names shortcuts (fused experts, tower names among quantization side-tensors)
    and its substring prefilter for LM heads decide exactly as the per-name regexes do."""
    from ckptscope.analysis.classify import AUDIO_PAT, PROJECTOR_PAT, VISION_PAT
    from ckptscope.checks.config import _ANY_TOWER, _FUSED_LINES, FUSED_EXPERTS, HEAD_PAT

    fused_seen = False
    for names in _name_sets():
        joined = "\n".join(names)
        per_name = any(FUSED_EXPERTS.search(n) for n in names)
        fused_seen |= per_name
        assert bool(_FUSED_LINES.search(joined)) == per_name
        towers = any(p.search(n) for n in names for p in (VISION_PAT, AUDIO_PAT, PROJECTOR_PAT))
        assert bool(_ANY_TOWER.search(joined)) == towers
        assert [n for n in names if HEAD_PAT.search(n)] == [
            n for n in names if ("lm_head." in n or "embed_out." in n or "output.weight" in n) and HEAD_PAT.search(n)]
    assert fused_seen  # Granite 3.1 MoE: block_sparse_moe.input_linear / output_linear


@pytest.mark.parametrize("bad", [
    {"dtype": "F32", "shape": [2.0, 3], "data_offsets": [24, 48]},  # equals (2, 3), already checked
    {"dtype": "F32", "shape": [True, 6], "data_offsets": [24, 48]},  # True == 1
    {"dtype": "F32", "shape": [2, 3], "data_offsets": [24.0, 48]},
    {"dtype": "F32", "shape": [2, 3], "data_offsets": [False, 24]},
    {"dtype": "F32", "shape": [2, 3], "data_offsets": [-24, 0]},
    {"dtype": "F32", "shape": [-2, -3], "data_offsets": [24, 48]},
    {"dtype": "F32", "shape": [2, 3], "data_offsets": [24, 48, 72]},
    {"dtype": "F32", "shape": ["2", 3], "data_offsets": [24, 48]},
    ["F32"],
])
def test_header_fast_path_never_accepts_what_every_check_rejects(bad):
    """Numbers that equal plain ints (floats, bools) in a shape already checked, negative or odd offsets: the fast
    path reports exactly what checking every entry reports."""
    text = json.dumps({"a.weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, "b.weight": bad,
                       "c.weight": {"dtype": "F32", "shape": [6], "data_offsets": [48, 72]}})
    fast, plain = _both(text, 72)
    _same(fast, plain)
    assert plain.problems
    with pytest.raises(Exception) as e1:
        validate_header(json.loads(text), "f", 8 + len(text) + 72, len(text), strict=True, text=text)
    with pytest.raises(Exception) as e2:
        validate_header(json.loads(text), "f", 8 + len(text) + 72, len(text), strict=True, text=None)
    assert str(e1.value) == str(e2.value)
