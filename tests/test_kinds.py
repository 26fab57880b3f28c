"""Repo kinds on small repos saved by the real libraries (fixtures/kinds, made by tools/make_kind_fixtures.py).

Expected figures come from fixtures/kinds/PROVENANCE.json: what each library reported about its own model when
it saved it (torch ``parameters()`` counts, peft's trainable count, onnx's own reading of the initializers)."""

from __future__ import annotations

import json
import math
import shutil
import struct

import pytest

from conftest import FIXTURES

KINDS = FIXTURES / "kinds"
PROV = json.loads((KINDS / "PROVENANCE.json").read_text())


def inspect_json(run_cli, *args):
    code, out, err = run_cli("inspect", *map(str, args), "--json")
    assert code == 0, err
    return json.loads(out)


def check(run_cli, path, *extra):
    return run_cli("check", str(path), *extra)


# ---------------------------------------------------------------------------------------------- Diffusers

def test_diffusers_total_counts_each_component_once(run_cli):
    r = inspect_json(run_cli, KINDS / "diffusers-tiny-sd")
    exp = PROV["diffusers-tiny-sd"]
    assert r["parameters"]["total"] == exp["total"]
    mods = r["modules"]
    for comp in ("unet", "vae", "text_encoder"):
        assert mods[comp]["parameters"] == exp[comp], comp
        assert mods[comp]["dtypes"] == {"F32": exp[comp]}
        assert mods[comp]["variants"] == ["default", "fp16"] and mods[comp]["variant"] == "default"
    assert mods["unet"]["class"] == "UNet2DConditionModel" and mods["unet"]["library"] == "diffusers"
    assert mods["text_encoder"]["library"] == "transformers" and mods["text_encoder"]["model_type"] == "clip_text_model"
    assert mods["scheduler"]["parameters"] == 0 and mods["safety_checker"]["class"] is None
    # per-block breakdown from the tensor names, adding up to the component
    blocks = mods["unet"]["blocks"]
    assert {"conv_in", "down_blocks.0", "down_blocks.1", "mid_block", "up_blocks.0", "up_blocks.1"} <= set(blocks)
    assert sum(b["parameters"] for b in blocks.values()) == exp["unet"]
    assert "encoder.down_blocks.0" in mods["vae"]["blocks"] and "decoder.mid_block" in mods["vae"]["blocks"]
    assert r["repo_kind"]["variants"] == ["default", "fp16"]
    # only one variant's files were read
    assert not any(".fp16." in w for w in r["source"]["weights"])


def test_diffusers_fp16_variant(run_cli):
    r = inspect_json(run_cli, KINDS / "diffusers-tiny-sd", "--variant", "fp16")
    assert r["parameters"]["total"] == PROV["diffusers-tiny-sd"]["total"]
    assert set(r["parameters"]["by_dtype"]) == {"F16"}
    assert r["bytes"]["total"] == 2 * PROV["diffusers-tiny-sd"]["total"]
    code, out, err = run_cli("inspect", str(KINDS / "diffusers-tiny-sd"), "--variant", "bf16")
    assert code == 2 and "bf16" in err and "default, fp16" in err and "Traceback" not in err


def test_diffusers_check_healthy_and_missing_component(run_cli, tmp_path):
    code, out, _ = check(run_cli, KINDS / "diffusers-tiny-sd")
    assert code == 0 and "All checks passed" in out, out
    broken = tmp_path / "pipe"
    shutil.copytree(KINDS / "diffusers-tiny-sd", broken)
    for p in (broken / "vae").glob("*.safetensors"):
        p.unlink()
    code, out, _ = check(run_cli, broken)
    assert code == 1 and "KD001" in out and "vae" in out, out
    r = inspect_json(run_cli, broken)
    assert r["modules"]["vae"]["weights"] == "missing"
    assert r["parameters"]["total"] == PROV["diffusers-tiny-sd"]["total"] - PROV["diffusers-tiny-sd"]["vae"]
    assert any(f["rule"] == "KD001" for f in r["findings"])


def test_diffusers_variants_that_disagree(run_cli, tmp_path):
    bad = tmp_path / "pipe"
    shutil.copytree(KINDS / "diffusers-tiny-sd", bad)
    shutil.copyfile(KINDS / "diffusers-tiny-sd" / "vae" / "diffusion_pytorch_model.fp16.safetensors",
                    bad / "unet" / "diffusion_pytorch_model.fp16.safetensors")
    code, out, _ = check(run_cli, bad)
    assert code == 1 and "KD002" in out and "unet" in out, out


def test_diffusers_variant_shape_differs(run_cli, tmp_path):
    """Same names, one shape changed in the fp16 file (written with the reference writer)."""
    from safetensors import safe_open
    from safetensors.numpy import save_file
    import numpy as np

    bad = tmp_path / "pipe"
    shutil.copytree(KINDS / "diffusers-tiny-sd", bad)
    f16 = bad / "text_encoder" / "model.fp16.safetensors"
    with safe_open(str(f16), "np") as f:
        arrs = {k: f.get_tensor(k) for k in f.keys()}
    k = "encoder.layers.0.layer_norm1.weight"
    arrs[k] = np.zeros(arrs[k].shape[0] + 1, dtype=np.float16)
    save_file(arrs, str(f16), metadata={"format": "pt"})
    code, out, _ = check(run_cli, bad)
    assert code == 1 and "KD002" in out and k in out, out


# ---------------------------------------------------------------------------------------------- Sentence Transformers

def test_sentence_transformers_total_includes_dense(run_cli):
    r = inspect_json(run_cli, KINDS / "st-tiny-bert-dense")
    exp = PROV["st-tiny-bert-dense"]
    assert r["parameters"]["total"] == exp["total"]
    mods = r["modules"]
    assert [m["class"] for m in mods.values()] == ["Transformer", "Pooling", "Dense", "Normalize"]
    assert mods["2"]["parameters"] == exp["dense"] and mods["2"]["out_features"] == 8
    assert mods["0"]["parameters"] + mods["2"]["parameters"] == exp["total"]
    assert r["embedding"]["dimension"] == exp["embedding_dimension"]
    assert r["embedding"]["max_seq_length"] == exp["max_seq_length"]
    assert "2_Dense/model.safetensors" in r["source"]["weights"]
    code, out, _ = check(run_cli, KINDS / "st-tiny-bert-dense")
    assert code == 0, out


def test_sentence_transformers_dense_shape_vs_config(run_cli, tmp_path):
    bad = tmp_path / "st"
    shutil.copytree(KINDS / "st-tiny-bert-dense", bad)
    cfg = json.loads((bad / "2_Dense" / "config.json").read_text())
    cfg["out_features"] = 12
    (bad / "2_Dense" / "config.json").write_text(json.dumps(cfg))
    code, out, _ = check(run_cli, bad)
    assert code == 1 and "KD004" in out and "[8, 16]" in out, out


# ---------------------------------------------------------------------------------------------- PEFT

def _adapter_with_local_base(tmp_path, base):
    d = tmp_path / "adapter"
    shutil.copytree(KINDS / "peft-lora-tiny-llama", d)
    cfg = json.loads((d / "adapter_config.json").read_text())
    cfg["base_model_name_or_path"] = str(base)  # what peft writes when the base was loaded from a local folder
    (d / "adapter_config.json").write_text(json.dumps(cfg, indent=2))
    return d


def test_lora_adapter_counts_and_rank(run_cli):
    r = inspect_json(run_cli, KINDS / "peft-lora-tiny-llama")
    exp = PROV["peft-lora-tiny-llama"]
    assert r["parameters"]["total"] == exp["adapter_parameters"]
    ad = r["adapter"]
    assert ad["type"] == "LORA" and ad["rank"] == exp["rank"] and ad["alpha"] == exp["alpha"]
    assert ad["target_modules"] == sorted(exp["per_target"])
    assert {k: v["parameters"] for k, v in ad["per_target"].items()} == exp["per_target"]
    assert ad["base_model"] == "ckptscope-test/tiny-llama"
    code, out, _ = check(run_cli, KINDS / "peft-lora-tiny-llama")
    assert code == 0 and "config.json" not in out and "MD003" not in out, out


def test_lora_adapter_against_local_base(run_cli, tmp_path):
    d = _adapter_with_local_base(tmp_path, KINDS / "tiny-llama")
    r = inspect_json(run_cli, d)
    base = r["adapter"]["base"]
    assert base["reconciliation"]["status"] == "exact" and base["reconciliation"]["checked"] == 12
    assert base["parameters"] == PROV["peft-lora-tiny-llama"]["base_parameters"]
    from safetensors import safe_open

    with safe_open(str(KINDS / "tiny-llama" / "model.safetensors"), "np") as f:
        base_bytes = sum(math.prod(f.get_slice(k).get_shape()) * 2 for k in f.keys())  # bf16
    mem = r["adapter"]["memory"]
    assert mem["base_bytes"] == base_bytes and mem["adapter_bytes"] == 4 * PROV["peft-lora-tiny-llama"]["adapter_parameters"]
    assert mem["total_bytes"] == mem["base_bytes"] + mem["adapter_bytes"]


def test_lora_adapter_against_the_wrong_base(run_cli, tmp_path):
    other = tmp_path / "other-base"
    other.mkdir()
    cfg = json.loads((KINDS / "tiny-llama" / "config.json").read_text())
    cfg["hidden_size"] = 96  # another model: q_proj is (96, 96)
    cfg["head_dim"] = 48
    (other / "config.json").write_text(json.dumps(cfg))
    d = _adapter_with_local_base(tmp_path, other)
    code, out, _ = check(run_cli, d)
    assert code == 1 and "KD011" in out and "q_proj" in out, out


# ---------------------------------------------------------------------------------------------- MLX

def test_mlx_4bit_unpacked_total_and_check(run_cli):
    r = inspect_json(run_cli, KINDS / "mlx-tiny-llama-4bit")
    exp = PROV["mlx-tiny-llama-4bit"]
    p = r["parameters"]
    assert p["weights"] == exp["logical_parameters"]  # the unpacked model
    assert p["quant_side_elements"] == exp["side_elements"]
    assert p["total"] == exp["logical_parameters"] + exp["side_elements"]
    assert p["stored_elements"]["total"] < p["weights"]
    q = r["quantization"]
    assert q["scheme"]["method"] == "mlx" and q["scheme"]["bits"] == 4 and q["scheme"]["group_size"] == 64
    assert q["logical_parameters"] == exp["logical_parameters"]
    assert r["reconciliation"]["status"] == "exact" and r["reconciliation"]["counts"]["packed"] == 16
    code, out, _ = check(run_cli, KINDS / "mlx-tiny-llama-4bit")
    assert code == 0 and "All checks passed" in out, out


def test_mlx_wrong_packing_is_a_mismatch(run_cli, tmp_path):
    """A q_proj packed for a different input width must not pass as packed."""
    from stwriter import header_for, write_raw

    d = tmp_path / "mlx"
    shutil.copytree(KINDS / "mlx-tiny-llama-4bit", d)
    raw = (d / "model.safetensors").read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    meta = hdr.pop("__metadata__")
    spec = {k: (v["dtype"], v["shape"]) for k, v in sorted(hdr.items(), key=lambda kv: kv[1]["data_offsets"])}
    spec["model.layers.0.self_attn.q_proj.weight"] = ("U32", [64, 5])  # 160 bits per row: no bit width fits 64
    h, size = header_for(spec, meta)
    write_raw(d / "model.safetensors", h, size)
    code, out, _ = check(run_cli, d, "--ignore", "IX006")
    assert code == 1 and "RC003" in out and "q_proj" in out, out


# ---------------------------------------------------------------------------------------------- ONNX

def test_onnx_external_data_total(run_cli):
    r = inspect_json(run_cli, KINDS / "onnx-tiny-external")
    exp = PROV["onnx-tiny-external"]
    assert r["parameters"]["total"] == exp["total"]
    assert r["tensors"]["count"] == len(exp["initializers"])
    ox = r["onnx"]
    assert ox["initializers"] == len(exp["initializers"]) and ox["opsets"] == {"ai.onnx": 17}
    ext = ox["external_data"]["model.onnx_data"]
    assert ext["tensors"] == sum(i["external"] for i in exp["initializers"])
    assert ext["bytes"] == ext["size"] == (KINDS / "onnx-tiny-external" / "model.onnx_data").stat().st_size
    # the single file too
    r2 = inspect_json(run_cli, KINDS / "onnx-tiny-external" / "model.onnx")
    assert r2["parameters"]["total"] == exp["total"]
    code, out, _ = check(run_cli, KINDS / "onnx-tiny-external")
    assert code == 0, out


def test_onnx_reader_matches_the_onnx_package():
    from ckptscope.readers.onnx import read_local

    info = read_local(str(KINDS / "onnx-tiny-external" / "model.onnx"))
    got = [{"name": t.name, "data_type": t.data_type, "dims": list(t.dims), "external": t.location is not None}
           for t in info.initializers]
    assert got == PROV["onnx-tiny-external"]["initializers"]
    onnx = pytest.importorskip("onnx")
    m = onnx.load(str(KINDS / "onnx-tiny-external" / "model.onnx"), load_external_data=False)
    assert [(t.name, list(t.dims)) for t in m.graph.initializer] == [(g["name"], g["dims"]) for g in got]


def test_onnx_missing_external_data(run_cli, tmp_path):
    d = tmp_path / "onnx"
    shutil.copytree(KINDS / "onnx-tiny-external", d)
    (d / "model.onnx_data").unlink()
    code, out, _ = check(run_cli, d)
    assert code == 1 and "KD021" in out and "model.onnx_data" in out, out


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_onnx_truncated_or_garbage(run_cli, tmp_path, cut):
    data = (KINDS / "onnx-tiny-external" / "model.onnx").read_bytes()
    p = tmp_path / "model.onnx"
    p.write_bytes(data[: int(len(data) * cut)])
    code, out, err = run_cli("inspect", str(p))
    assert code == 2 and "model.onnx" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    p.write_bytes(b"\xff" * 64)
    code, out, err = run_cli("inspect", str(p))
    assert code == 2 and "Traceback" not in err


def test_onnx_huge_length_is_refused_without_allocating(run_cli, tmp_path):
    # ModelProto.graph (field 7, wire type 2) claiming 2^60 bytes in a 16-byte file
    n = 1 << 60
    v = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        v.append(b | (0x80 if n else 0))
        if not n:
            break
    p = tmp_path / "model.onnx"
    p.write_bytes(bytes([0x08, 0x07, 0x3A]) + bytes(v) + b"\0" * 4)
    code, out, err = run_cli("inspect", str(p))
    assert code == 2 and "claims" in err


# ---------------------------------------------------------------------------------------------- the Hub stand-in

@pytest.fixture
def hub(monkeypatch, tmp_path):
    from hubstub import HubStub, StubRepo, files_from_tree
    from test_hub import use_env

    with HubStub() as stub:
        stub.add(StubRepo("ckptscope-test/tiny-sd", files_from_tree(KINDS / "diffusers-tiny-sd")))
        stub.add(StubRepo("ckptscope-test/lora", files_from_tree(KINDS / "peft-lora-tiny-llama")))
        stub.add(StubRepo("ckptscope-test/tiny-llama", files_from_tree(KINDS / "tiny-llama")))
        stub.add(StubRepo("ckptscope-test/tiny-onnx", files_from_tree(KINDS / "onnx-tiny-external")))
        use_env(monkeypatch, tmp_path, stub.url)
        yield stub


def test_hub_diffusers_same_as_local(hub, run_cli):
    local = inspect_json(run_cli, KINDS / "diffusers-tiny-sd")
    r = inspect_json(run_cli, "ckptscope-test/tiny-sd")
    assert r["source"]["kind"] == "hub"
    assert r["parameters"]["total"] == local["parameters"]["total"] == PROV["diffusers-tiny-sd"]["total"]
    assert {k: v.get("parameters") for k, v in r["modules"].items()} == \
        {k: v.get("parameters") for k, v in local["modules"].items()}
    # headers only: no weight file was downloaded whole
    sizes = {p.relative_to(KINDS / "diffusers-tiny-sd").as_posix(): p.stat().st_size
             for p in (KINDS / "diffusers-tiny-sd").rglob("*.safetensors")}
    gets = [e for e in hub.log if e["path"].endswith(".safetensors") and e["method"] == "GET"]
    assert len(gets) == 3 and not any(".fp16." in e["path"] for e in gets)
    for e in gets:
        rel = e["path"].split("/resolve/", 1)[1].split("/", 1)[1]
        # a ranged read sized to the header (tiny files are smaller than the first guess and come whole)
        assert e["sent"] <= sizes[rel] and (sizes[rel] < 100_000 or e["sent"] < sizes[rel] / 2), e
    code, out, _ = run_cli("check", "ckptscope-test/tiny-sd")
    assert code == 0, out


def test_hub_adapter_with_hub_base(hub, run_cli):
    r = inspect_json(run_cli, "ckptscope-test/lora")
    ad = r["adapter"]
    assert r["parameters"]["total"] == PROV["peft-lora-tiny-llama"]["adapter_parameters"] and ad["rank"] == 8
    assert ad["base"]["reconciliation"]["status"] == "exact", ad["base"]
    assert ad["base"]["parameters"] == PROV["peft-lora-tiny-llama"]["base_parameters"]
    code, out, _ = run_cli("check", "ckptscope-test/lora")
    assert code == 0 and "MD003" not in out, out


def test_hub_onnx(hub, run_cli):
    r = inspect_json(run_cli, "ckptscope-test/tiny-onnx")
    assert r["parameters"]["total"] == PROV["onnx-tiny-external"]["total"]


# ---------------------------------------------------------------------------------------------- bitsandbytes

@pytest.mark.parametrize("name,bits", [("bnb-nf4-tiny-llama", 4), ("bnb-int8-tiny-llama", 8)])
def test_bitsandbytes_saved_by_transformers(run_cli, name, bits):
    r = inspect_json(run_cli, KINDS / name)
    p = r["parameters"]
    assert p["weights"] == PROV[name]["logical_parameters"] == PROV["tiny-llama"]["parameters"]
    assert p["quant_side_elements"] > 0
    if bits == 4:
        assert p["stored_elements"]["total"] < p["total"]  # two 4-bit values per stored byte
    assert r["quantization"]["scheme"]["method"] == "bitsandbytes"
    assert r["reconciliation"]["status"] == "exact" and r["reconciliation"]["counts"]["packed"] == 14
    code, out, _ = check(run_cli, KINDS / name)
    assert code == 0, out


def test_compressed_tensors_pack_quantized(run_cli):
    name = "ct-w4a16-tiny-llama"
    r = inspect_json(run_cli, KINDS / name)
    p = r["parameters"]
    assert p["weights"] == PROV[name]["logical_parameters"]
    # side tensors, by hand: weight_scale (out, in/32) + weight_shape (2) per Linear of each of the 2 layers:
    # q (64,64) k (32,64) v (32,64) o (64,64) gate (128,64) up (128,64) down (64,128)
    linears = [(64, 64), (32, 64), (32, 64), (64, 64), (128, 64), (128, 64), (64, 128)]
    assert p["quant_side_elements"] == 2 * sum(o * i // 32 + 2 for o, i in linears)
    assert p["stored_elements"]["total"] < p["weights"]
    assert r["quantization"]["scheme"]["method"] == "compressed-tensors"
    assert r["reconciliation"]["status"] == "exact" and r["reconciliation"]["counts"]["packed"] == 14
    code, out, _ = check(run_cli, KINDS / name)
    assert code == 0, out


@pytest.mark.parametrize("name,total", [("diffusers-tiny-sd", PROV["diffusers-tiny-sd"]["total"]),
                                        ("st-tiny-bert-dense", PROV["st-tiny-bert-dense"]["total"])])
def test_snapshot_keeps_the_modules(run_cli, tmp_path, name, total):
    snap = tmp_path / "s.ckpt.gz"
    code, _, err = run_cli("snapshot", str(KINDS / name), "-o", str(snap))
    assert code == 0, err
    r = inspect_json(run_cli, snap)
    assert r["parameters"]["total"] == total and r["modules"]


def test_diffusers_text_encoder_reconciled_by_its_family(run_cli, tmp_path):
    """A T5EncoderModel text encoder (as in SD3/Flux) saved by transformers: the t5 rules hold its tensors."""
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    pipe = tmp_path / "pipe"
    shutil.copytree(KINDS / "diffusers-tiny-sd", pipe)
    shutil.rmtree(pipe / "text_encoder")
    m = transformers.T5EncoderModel(transformers.T5Config(vocab_size=64, d_model=16, d_kv=8, d_ff=32, num_layers=2,
                                                          num_heads=2))
    m.save_pretrained(pipe / "text_encoder")
    idx = json.loads((pipe / "model_index.json").read_text())
    idx["text_encoder"] = ["transformers", "T5EncoderModel"]
    (pipe / "model_index.json").write_text(json.dumps(idx))
    r = inspect_json(run_cli, pipe)
    te = r["modules"]["text_encoder"]
    assert te["parameters"] == sum(p.numel() for p in m.parameters())
    assert te["model_type"] == "t5" and te["reconciliation"]["status"] == "exact", te["reconciliation"]
    assert te["variants"] == ["default"]
