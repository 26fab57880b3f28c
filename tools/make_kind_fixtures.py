"""Build fixtures/kinds/: small repos saved exactly the way each library saves them, plus the expected figures
each library reports about its own model (the independent oracle the tests compare with).

    pip install --target /tmp/kindlibs --no-deps diffusers peft sentence-transformers onnx accelerate protobuf \
        ml_dtypes pillow psutil scikit-learn scipy joblib threadpoolctl cloudpickle bitsandbytes \
        compressed-tensors loguru pydantic pydantic-core annotated-types typing-inspection
    PYTHONPATH=/tmp/kindlibs python tools/make_kind_fixtures.py

(torch and transformers as in .ci/run.) Versions used are written into fixtures/kinds/PROVENANCE.json. MLX does not
install on Linux x86, so the MLX repo is written the way ``mlx_lm.convert(quantize=True)`` saves one (see
``mlx_repo``): every Linear/Embedding whose input width is a multiple of the group size becomes a U32-packed
``weight`` (out, in*bits/32) with ``scales`` and ``biases`` (out, in/group) in the model dtype, norms stay as they are,
safetensors metadata ``{"format": "mlx"}``, and config.json gets ``"quantization"`` and ``"quantization_config"``
``{"group_size": 64, "bits": 4}`` (the layout of the mlx-community 4-bit repos).
"""

from __future__ import annotations

import json
import math
import shutil
import struct
import tempfile
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parent.parent / "fixtures" / "kinds"
SEED = 0


def clip_tokenizer_files(d: Path) -> None:
    """A tiny byte-level BPE vocabulary for CLIPTokenizer (what the pipeline needs to be constructed)."""
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for i, ch in enumerate("abcdefghijklmnopqrstuvwxyz"):
        vocab[ch] = 2 + i
        vocab[ch + "</w>"] = 28 + i
    d.mkdir(parents=True, exist_ok=True)
    (d / "vocab.json").write_text(json.dumps(vocab))
    (d / "merges.txt").write_text("#version: 0.2\n")


def diffusers_pipeline(out: Path) -> dict:
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(SEED)
    unet = UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
                                block_out_channels=(8, 16), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=16,
                                norm_num_groups=4, attention_head_dim=2)
    vae = AutoencoderKL(in_channels=3, out_channels=3, block_out_channels=(8,), norm_num_groups=4,
                        latent_channels=4, layers_per_block=1, down_block_types=("DownEncoderBlock2D",),
                        up_block_types=("UpDecoderBlock2D",))
    te = CLIPTextModel(CLIPTextConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                      num_attention_heads=2, vocab_size=64, max_position_embeddings=77,
                                      projection_dim=16))
    with tempfile.TemporaryDirectory() as tmp:
        clip_tokenizer_files(Path(tmp))
        tok = CLIPTokenizer(str(Path(tmp) / "vocab.json"), str(Path(tmp) / "merges.txt"))
    pipe = StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=te, tokenizer=tok, scheduler=DDIMScheduler(),
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(out)
    # The fp16 variant beside the full-precision files, as on the Hub (diffusion_pytorch_model.fp16.safetensors,
    # model.fp16.safetensors): saved by the same save_pretrained, only its weight files copied in.
    with tempfile.TemporaryDirectory() as tmp:
        pipe.to(torch.float16).save_pretrained(tmp, variant="fp16")
        for p in Path(tmp).rglob("*.fp16.safetensors"):
            dst = out / p.relative_to(tmp)
            shutil.copyfile(p, dst)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    return {"unet": count(unet), "vae": count(vae), "text_encoder": count(te),
            "total": count(unet) + count(vae) + count(te)}


def bert_folder(d: Path, hidden: int = 16):
    from transformers import BertConfig, BertModel, BertTokenizerFast

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("abcdefghijklmnopqrstuvwxyz")
    d.mkdir(parents=True, exist_ok=True)
    (d / "vocab.txt").write_text("\n".join(words) + "\n")
    torch.manual_seed(SEED)
    m = BertModel(BertConfig(vocab_size=len(words), hidden_size=hidden, num_hidden_layers=2, num_attention_heads=2,
                             intermediate_size=32, max_position_embeddings=64), add_pooling_layer=False)
    m.save_pretrained(d)
    BertTokenizerFast(str(d / "vocab.txt")).save_pretrained(d)
    return m


def sentence_transformer(out: Path) -> dict:
    from sentence_transformers import SentenceTransformer, models

    with tempfile.TemporaryDirectory() as tmp:
        bert_folder(Path(tmp))
        tr = models.Transformer(tmp, max_seq_length=48)
        pool = models.Pooling(tr.get_word_embedding_dimension(), pooling_mode="mean")
        torch.manual_seed(SEED)
        dense = models.Dense(in_features=16, out_features=8, activation_function=torch.nn.Tanh())
        st = SentenceTransformer(modules=[tr, pool, dense, models.Normalize()], device="cpu")
        st.save(str(out))
    return {"total": sum(p.numel() for p in st.parameters()), "dense": sum(p.numel() for p in dense.parameters()),
            "embedding_dimension": st.get_sentence_embedding_dimension(), "max_seq_length": st.max_seq_length}


def tiny_llama_config():
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                       num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256,
                       tie_word_embeddings=False, torch_dtype="bfloat16")


def tiny_llama(base_dir: Path):
    """The base model the adapter and the MLX repo are made from: config.json and bf16 weights."""
    from transformers import LlamaForCausalLM

    torch.manual_seed(SEED)
    m = LlamaForCausalLM(tiny_llama_config()).to(torch.bfloat16)
    m.save_pretrained(base_dir)
    return m


def peft_adapter(out: Path, base) -> dict:
    from peft import LoraConfig, get_peft_model

    base.config._name_or_path = "ckptscope-test/tiny-llama"  # what peft records as base_model_name_or_path
    base.name_or_path = "ckptscope-test/tiny-llama"
    cfg = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=["q_proj", "v_proj", "down_proj"],
                     task_type="CAUSAL_LM")
    pm = get_peft_model(base, cfg)
    pm.save_pretrained(out)
    trainable, _ = pm.get_nb_trainable_parameters()
    per = {}
    for n, p in pm.named_parameters():
        if "lora_" in n:
            k = n.split(".lora_")[0].rsplit(".", 1)[-1]
            per[k] = per.get(k, 0) + p.numel()
    return {"adapter_parameters": trainable, "rank": 8, "alpha": 16, "per_target": per,
            "base_parameters": sum(p.numel() for n, p in pm.named_parameters() if "lora_" not in n)}


def _st_write(path: Path, tensors: list[tuple[str, str, tuple]], metadata: dict) -> int:
    """A safetensors file laid out like the reference writer (zeros as data: only shapes matter here)."""
    size = {"U32": 4, "BF16": 2, "F16": 2, "F32": 4}
    obj: dict = {"__metadata__": metadata}
    pos = 0
    for name, dt, shape in sorted(tensors):
        n = math.prod(shape) * size[dt]
        obj[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [pos, pos + n]}
        pos += n
    raw = json.dumps(obj, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        f.write(b"\0" * pos)
    return pos


def mlx_repo(out: Path, base, base_dir: Path, bits: int = 4, group: int = 64) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    tensors = []
    logical = 0
    for name, p in base.state_dict().items():
        shape = tuple(p.shape)
        logical += p.numel()
        mod = name.rsplit(".", 1)[0]
        quantizable = name.endswith(".weight") and len(shape) == 2 and "norm" not in mod and shape[-1] % group == 0
        if quantizable:
            tensors.append((name, "U32", (shape[0], shape[1] * bits // 32)))
            tensors.append((mod + ".scales", "BF16", (shape[0], shape[1] // group)))
            tensors.append((mod + ".biases", "BF16", (shape[0], shape[1] // group)))
        else:
            tensors.append((name, "BF16", shape))
    total = _st_write(out / "model.safetensors", tensors, {"format": "mlx"})
    idx = {"metadata": {"total_size": total}, "weight_map": {n: "model.safetensors" for n, _, _ in sorted(tensors)}}
    (out / "model.safetensors.index.json").write_text(json.dumps(idx, indent=4))
    cfg = json.loads((base_dir / "config.json").read_text())
    cfg["quantization"] = {"group_size": group, "bits": bits}
    cfg["quantization_config"] = {"group_size": group, "bits": bits}
    (out / "config.json").write_text(json.dumps(cfg, indent=4))
    side = sum(math.prod(s) for n, _, s in tensors if n.endswith((".scales", ".biases")))
    return {"logical_parameters": logical, "side_elements": side, "bits": bits, "group_size": group}


def bnb_repos(base_dir: Path) -> dict:
    """The tiny Llama loaded with bitsandbytes 4-bit (NF4, double quantization) and 8-bit, saved by
    save_pretrained (bitsandbytes >= 0.45 quantizes on CPU)."""
    import bitsandbytes
    from transformers import BitsAndBytesConfig, LlamaForCausalLM

    out = {"bitsandbytes": bitsandbytes.__version__}
    for name, q in (("bnb-nf4-tiny-llama", BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                              bnb_4bit_use_double_quant=True,
                                                              bnb_4bit_compute_dtype=torch.bfloat16)),
                    ("bnb-int8-tiny-llama", BitsAndBytesConfig(load_in_8bit=True))):
        m = LlamaForCausalLM.from_pretrained(str(base_dir), quantization_config=q, device_map="cpu")
        m.save_pretrained(OUT / name)
        out[name] = {"logical_parameters": json.loads((OUT / "PROVENANCE.json").read_text())["tiny-llama"]
                     ["parameters"] if (OUT / "PROVENANCE.json").exists() else None}
    return out


def compressed_tensors_repo(base_dir: Path, out: Path) -> dict:
    """W4A16 pack-quantized (int4, group 32, symmetric) with compressed-tensors, the way llm-compressor saves it:
    apply the scheme, set each Linear's weight scales from its min/max (weight-only calibration), compress, save,
    write quantization_config."""
    import compressed_tensors
    from compressed_tensors.compressors import ModelCompressor
    from compressed_tensors.quantization import (QuantizationArgs, QuantizationConfig, QuantizationScheme,
                                                 QuantizationStatus, apply_quantization_config)
    from compressed_tensors.quantization.utils import calculate_qparams
    from transformers import LlamaForCausalLM

    m = LlamaForCausalLM.from_pretrained(str(base_dir), dtype=torch.bfloat16)
    args = QuantizationArgs(num_bits=4, type="int", symmetric=True, strategy="group", group_size=32)
    apply_quantization_config(m, QuantizationConfig(config_groups={"group_0": QuantizationScheme(
        targets=["Linear"], weights=args)}, ignore=["lm_head"], format="pack-quantized"))
    for _, mod in m.named_modules():
        s = getattr(mod, "quantization_scheme", None)
        if s is None:
            continue
        w = mod.weight.detach().float().reshape(mod.weight.shape[0], -1, s.weights.group_size)
        scale, zp = calculate_qparams(w.amin(-1), w.amax(-1), s.weights)
        with torch.no_grad():
            mod.weight_scale.copy_(scale.reshape(mod.weight_scale.shape).to(mod.weight_scale.dtype))
            if hasattr(mod, "weight_zero_point"):
                mod.weight_zero_point.copy_(zp.reshape(mod.weight_zero_point.shape).to(mod.weight_zero_point.dtype))
        mod.quantization_status = QuantizationStatus.CALIBRATION
    comp = ModelCompressor.from_pretrained_model(m, quantization_format="pack-quantized")
    comp.compress_model(m)
    m.save_pretrained(out)
    comp.update_config(str(out))
    return {"compressed_tensors": compressed_tensors.__version__}


def onnx_model(out: Path) -> dict:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(SEED)
    inits = [numpy_helper.from_array(rng.standard_normal((16, 32)).astype(np.float32), "w1"),
             numpy_helper.from_array(rng.standard_normal(32).astype(np.float32), "b1"),
             numpy_helper.from_array(rng.standard_normal((32, 8)).astype(np.float16), "w2"),
             numpy_helper.from_array(np.array([1, 8], dtype=np.int64), "shape")]
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Add", ["h", "b1"], ["h1"]),
             helper.make_node("Relu", ["h1"], ["h2"]), helper.make_node("Cast", ["h2"], ["h3"], to=TensorProto.FLOAT16),
             helper.make_node("MatMul", ["h3", "w2"], ["y0"]), helper.make_node("Reshape", ["y0", "shape"], ["y"])]
    g = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT16, [1, 8])], inits)
    m = helper.make_model(g, producer_name="ckptscope-fixture", opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    out.mkdir(parents=True, exist_ok=True)
    onnx.save_model(m, str(out / "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="model.onnx_data", size_threshold=64)
    back = onnx.load(str(out / "model.onnx"), load_external_data=False)
    init = [{"name": t.name, "data_type": t.data_type, "dims": list(t.dims),
             "external": t.data_location == TensorProto.EXTERNAL} for t in back.graph.initializer]
    return {"initializers": init, "total": sum(math.prod(i["dims"]) for i in init)}


def main() -> None:
    import diffusers
    import onnx
    import peft
    import sentence_transformers
    import transformers

    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    expected = {"versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                             "diffusers": diffusers.__version__, "peft": peft.__version__,
                             "sentence_transformers": sentence_transformers.__version__, "onnx": onnx.__version__},
                "made_by": "tools/make_kind_fixtures.py"}
    expected["diffusers-tiny-sd"] = diffusers_pipeline(OUT / "diffusers-tiny-sd")
    expected["st-tiny-bert-dense"] = sentence_transformer(OUT / "st-tiny-bert-dense")
    base = tiny_llama(OUT / "tiny-llama")
    expected["tiny-llama"] = {"parameters": sum(p.numel() for p in base.parameters())}
    expected["mlx-tiny-llama-4bit"] = mlx_repo(OUT / "mlx-tiny-llama-4bit", base, OUT / "tiny-llama")
    expected["peft-lora-tiny-llama"] = peft_adapter(OUT / "peft-lora-tiny-llama", base)
    expected["onnx-tiny-external"] = onnx_model(OUT / "onnx-tiny-external")
    (OUT / "PROVENANCE.json").write_text(json.dumps(expected, indent=2) + "\n")
    add_bnb()
    add_ct()


def add_ct() -> None:
    """``python tools/make_kind_fixtures.py ct``: (re)build only the compressed-tensors repo from tiny-llama."""
    prov = json.loads((OUT / "PROVENANCE.json").read_text())
    got = compressed_tensors_repo(OUT / "tiny-llama", OUT / "ct-w4a16-tiny-llama")
    prov["versions"].update(got)
    prov["ct-w4a16-tiny-llama"] = {"logical_parameters": prov["tiny-llama"]["parameters"], "bits": 4, "group_size": 32}
    (OUT / "PROVENANCE.json").write_text(json.dumps(prov, indent=2) + "\n")


def add_bnb() -> None:
    """``python tools/make_kind_fixtures.py bnb``: (re)build only the bitsandbytes repos from tiny-llama."""
    prov = json.loads((OUT / "PROVENANCE.json").read_text())
    got = bnb_repos(OUT / "tiny-llama")
    prov["versions"]["bitsandbytes"] = got.pop("bitsandbytes")
    prov.update(got)
    (OUT / "PROVENANCE.json").write_text(json.dumps(prov, indent=2) + "\n")
    print(json.dumps(prov, indent=2))


if __name__ == "__main__":
    import sys

    {"bnb": add_bnb, "ct": add_ct}.get(sys.argv[1] if sys.argv[1:] else "", main)()
