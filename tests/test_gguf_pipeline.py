"""GGUF through every command and the API: one schema, the same exact parameter total everywhere.

Expected values come from gguf-py's own reader (``gguf.GGUFReader``, an independent implementation) on files
written by gguf-py's ``GGUFWriter`` or on the real SmolLM2 header laid out at the real file size, and from hand
derivations written here.
"""

from __future__ import annotations

import json
import shutil

import pytest

import ggufgen as G

pytest.importorskip("gguf")


@pytest.fixture
def smol(tmp_path):
    return G.smol_sparse(tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf")


@pytest.fixture
def tiny(tmp_path):
    d = tmp_path / "tiny"
    d.mkdir()
    return G.write_tiny(d / "tiny-Q8_0.gguf")[0]


def _json(run_cli, *argv):
    code, out, err = run_cli(*argv)
    assert code in (0, 1), err
    return code, json.loads(out)


def test_real_header_same_total_in_every_command(run_cli, smol, tmp_path):
    total, count, by_type = G.reader_totals(smol)
    assert total == G.SMOL_PARAMS and count == 272
    code, d = _json(run_cli, "inspect", smol, "--json")
    assert code == 0
    assert d["parameters"]["total"] == total and d["tensors"]["count"] == count
    assert d["parameters"]["by_dtype"] == by_type
    assert d["source"]["format"] == "gguf" and d["basis"] == "headers"
    # the same component names as safetensors checkpoints
    assert set(d["parameters"]["by_component"]) == {"embedding", "attention", "mlp", "norm"}
    assert d["gguf"]["file_type"] == "Q4_1" and not d["gguf"]["truncated"]
    # bits per weight from the tensor bytes: Q4_1 = 20 B / 32, Q8_0 = 34 B / 32, F32 = 4 B (hand derivation)
    tb = by_type["Q4_1"] * 20 // 32 + by_type["Q8_0"] * 34 // 32 + by_type["F32"] * 4
    assert d["bytes"]["total"] == tb and d["gguf"]["bpw"] == round(8 * tb / total, 4)
    code, c = _json(run_cli, "check", smol, "--json")
    assert code == 0 and c["parameters"]["total"] == total and not c["findings"]
    code, e = _json(run_cli, "estimate", smol, "--json")
    assert e["weights"]["parameters"] == total and e["weights"]["bytes"] == tb
    assert e["parameters"]["total"] == total
    folder = tmp_path / "folder"
    folder.mkdir()
    shutil.copy(smol, folder / smol.name)
    code, f = _json(run_cli, "inspect", folder, "--json")
    assert f["parameters"]["total"] == total
    import ckptscope

    assert ckptscope.inspect(str(smol)).parameters["total"] == total


def test_estimate_takes_hyperparameters_from_gguf_metadata(run_cli, smol):
    """SmolLM2's llama.* keys: 30 blocks, 3 KV heads, head dim 576/9 = 64, context 8192. f16 KV cache (llama.cpp's
    default): 2 (K and V) x 30 x 3 x 64 x 2 bytes = 23,040 bytes per token."""
    code, e = _json(run_cli, "estimate", smol, "--context", "4096", "--json")
    kv = e["kv_cache"]
    assert kv["bytes_per_token"]["all_layers"] == 2 * 30 * 3 * 64 * 2
    assert kv["bytes"] == 4096 * 23_040
    assert e["context"]["max_position_embeddings"] == 8192


def test_header_extract_is_truncated_not_refused(run_cli, tmp_path):
    p = tmp_path / "smol.header.gguf"
    p.write_bytes(G.smol_header())
    code, out, err = run_cli("inspect", p)
    assert code == 0 and "TRUNCATED" in out and "134,515,008" in out
    code, d = _json(run_cli, "inspect", p, "--json")
    assert d["parameters"]["total"] == G.SMOL_PARAMS and d["gguf"]["truncated"]
    assert d["gguf"]["expected_file_bytes"] == G.SMOL_FILE_SIZE
    code, c = _json(run_cli, "check", p, "--json")
    assert code == 1 and [f["rule"] for f in c["findings"]] == ["GG012"]
    assert c["parameters"]["total"] == G.SMOL_PARAMS


def test_tiny_complete_file_and_components(run_cli, tiny):
    total, count, by_type = G.reader_totals(tiny)
    # hand derivation: embedding + head 2 x 256 x 64, per layer q/o 64x64, k/v 32x64, 3 x 128x64 MLP, 2 norms
    per_layer = 2 * 64 * 64 + 2 * 32 * 64 + 3 * 128 * 64 + 2 * 64
    assert total == 2 * 256 * 64 + 2 * per_layer + 64
    code, d = _json(run_cli, "inspect", tiny, "--json")
    p = d["parameters"]
    assert p["total"] == total and p["by_dtype"] == by_type
    assert p["by_component"] == {"embedding": 256 * 64, "attention": 2 * (2 * 64 * 64 + 2 * 32 * 64),
                                 "mlp": 2 * 3 * 128 * 64, "norm": 2 * 2 * 64 + 64, "lm_head": 256 * 64}
    assert [L["layer"] for L in d["by_layer"]] == ["0", "1"]
    assert d["model"]["num_hidden_layers"] == 2 and d["model"]["num_key_value_heads"] == 2
    assert d["model"]["tie_word_embeddings"] is False
    assert d["tokenizer"]["vocab_size"] == 256
    code, c = _json(run_cli, "check", tiny, "--json")
    assert code == 0, c["findings"]


def test_split_set_is_one_model(run_cli, tmp_path):
    files = G.write_tiny(tmp_path / "m-Q8_0.gguf", split_max_tensors=8)
    assert len(files) == 3
    total = sum(G.reader_totals(f)[0] for f in files)
    code, d = _json(run_cli, "inspect", tmp_path, "--json")
    assert d["parameters"]["total"] == total and d["tensors"]["count"] == 21
    assert d["gguf"]["split"] and len(d["gguf"]["files"]) == 3
    code, d1 = _json(run_cli, "inspect", files[0], "--json")  # the first part brings its set
    assert d1["parameters"]["total"] == total
    files[1].unlink()
    code, c = _json(run_cli, "check", tmp_path, "--json")
    assert code == 1 and "GG015" in {f["rule"] for f in c["findings"]}


def test_vocab_only_is_a_tokenizer_file(run_cli, tmp_path):
    p = G.write_vocab_only(tmp_path / "ggml-vocab-tiny.gguf", vocab=300)
    code, out, err = run_cli("inspect", p)
    assert code == 0 and "TRUNCATED" not in out and "vocab-only" in out
    code, d = _json(run_cli, "inspect", p, "--json")
    assert d["gguf"]["vocab_only"] and not d["gguf"]["truncated"]
    assert d["parameters"]["total"] == 0 and d["tokenizer"]["vocab_size"] == 300
    assert d["tokenizer"]["num_merges"] == 299
    code, c = _json(run_cli, "check", p, "--json")
    assert code == 0, c["findings"]


def test_folder_of_quantizations_lists_them(run_cli, tmp_path):
    G.write_tiny(tmp_path / "tiny-Q8_0.gguf")
    G.write_tiny(tmp_path / "tiny-Q4_K_M.gguf", ffn=256)
    G.write_tiny(tmp_path / "mmproj-tiny-F16.gguf", layers=1)
    code, d = _json(run_cli, "inspect", tmp_path, "--json")
    chosen = G.reader_totals(tmp_path / "tiny-Q4_K_M.gguf")[0]
    assert d["parameters"]["total"] == chosen  # llama.cpp's default tag
    labels = {v["label"]: v for v in d["gguf"]["variants"]}
    assert set(labels) == {"Q8_0", "Q4_K_M"}
    assert labels["Q8_0"]["parameters"] == G.reader_totals(tmp_path / "tiny-Q8_0.gguf")[0]
    code, out, err = run_cli("inspect", tmp_path)
    assert "2 GGUF models here" in out and "tiny-Q8_0.gguf" in out


def test_content_detection_not_the_name(run_cli, tiny, tmp_path):
    odd = tmp_path / "weights.bin"
    shutil.copy(tiny, odd)
    code, d = _json(run_cli, "inspect", odd, "--json")
    assert d["source"]["format"] == "gguf" and d["parameters"]["total"] == G.reader_totals(tiny)[0]
    from ckptscope.readers.detect import detect, detect_file

    assert detect_file(str(tiny)) == "gguf"
    assert detect(b"\x80\x02}q\x00.", 6) == "pickle" and detect(b"PK\x03\x04....", 10) == "zip"
    assert detect((2).to_bytes(8, "little") + b"{}", 10) == "safetensors"
    assert detect(b"version https://git-lfs.github.com/spec/v1\n", 130) == "lfs"


def test_explain_and_markdown_and_snapshot(run_cli, smol, tmp_path):
    code, out, err = run_cli("explain", smol)
    assert code == 0, err
    code, out, err = run_cli("inspect", smol, "--format", "markdown")
    assert code == 0 and "134,515,008" in out.replace("134.52M", "134,515,008")
    snap = tmp_path / "smol.ckpt.gz"
    code, out, err = run_cli("snapshot", smol, "-o", snap)
    assert code == 0, err
    code, d = _json(run_cli, "inspect", snap, "--json")
    assert d["parameters"]["total"] == G.SMOL_PARAMS and d["source"]["format"] == "gguf"
    assert d["parameters"]["by_dtype"] == G.reader_totals(smol)[2]


def test_estimate_compare_with_the_real_file(run_cli, smol, tmp_path):
    """Prediction from the GGUF's own hyper-parameters vs the real SmolLM2 Q4_1 header: llama.cpp's type choice
    (q8_0 embedding: its 576-wide rows fall back from q6_K; q4_1 matrices; f32 norms) gives every tensor."""
    code, e = _json(run_cli, "estimate", smol, "--compare", smol, "--json")
    c = e["quantization"]["schemes"]["Q4_1"]["compare"]
    assert c["exact"] and c["tensors"]["same"] == 272 and c["differences"] == []
    assert c["tensor_bytes"]["predicted"] == c["tensor_bytes"]["file"] == sum(
        n * {"Q4_1": 20, "Q8_0": 34}.get(t, 128) // 32 for t, n in G.reader_totals(smol)[2].items())
    # a file with other types: each differing tensor listed with both types
    other = G.header_only(tmp_path / "other-Q4_K_M.gguf", G.kvs_of(smol, override={"general.file_type": 15}),
                          G.smol_tensors_as(smol, "Q5_0", "Q8_0"))
    code, e = _json(run_cli, "estimate", smol, "--quant", "q4_1", "--compare", other, "--json")
    c = e["quantization"]["schemes"]["Q4_1"]["compare"]
    assert not c["exact"] and c["tensors"]["different"] == 210
    assert all(d["type"] == ["q4_1", "q5_0"] for d in c["differences"])
    code, out, err = run_cli("estimate", smol, "--quant", "q4_1", "--compare", other)
    assert "blk.0.attn_q.weight: type q4_1 predicted, q5_0 in the file" in out
