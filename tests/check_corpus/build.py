"""The check corpus: for every rule, a small repository that fires it and a near-miss that must not.

Files are written here, byte by byte (safetensors headers, pickle opcodes) or with the real ``tokenizers``
library; the valid safetensors files this writer makes are proved valid against ``safetensors.safe_open`` in
tests/test_check_corpus.py. ``python tests/check_corpus/build.py OUT`` materialises every case under OUT.

CASES maps a rule id to ``(fire_builder, near_miss_builder)``; each builder takes an empty folder and fills it.
"""

from __future__ import annotations

import json
import os
import struct
import zipfile
from pathlib import Path

BITS = {"BOOL": 8, "U8": 8, "I8": 8, "F8_E4M3": 8, "F8_E5M2": 8, "F8_E8M0": 8, "F4": 4, "F16": 16, "BF16": 16,
        "I16": 16, "U16": 16, "F32": 32, "I32": 32, "U32": 32, "F64": 64, "I64": 64, "U64": 64}

H, V, L, I = 8, 100, 2, 16  # hidden, vocab, layers, intermediate of the tiny Llama


# --- safetensors ----------------------------------------------------------------------------------------

def st_header(tensors: dict[str, tuple[str, list[int]]]) -> tuple[dict, int]:
    """A valid header for ``{name: (dtype, shape)}`` (offsets in the given order) and its data size."""
    hdr, pos = {}, 0
    for name, (dtype, shape) in tensors.items():
        n = 1
        for d in shape:
            n *= d
        size = n * BITS[dtype] // 8
        hdr[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [pos, pos + size]}
        pos += size
    return hdr, pos


def write_raw(path: Path, header: bytes | str | dict, data_len: int, *, length: int | None = None,
              pad: bool = True) -> Path:
    """Write 8-byte length + header + ``data_len`` zero bytes (sparse). ``length`` overrides the length field."""
    if isinstance(header, dict):
        header = json.dumps(header, separators=(",", ":"))
    hb = header.encode() if isinstance(header, str) else header
    if pad and (8 + len(hb)) % 8:
        hb += b" " * (8 - (8 + len(hb)) % 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb) if length is None else length))
        f.write(hb)
        f.truncate(8 + len(hb) + data_len)
    return path


def write_st(path: Path, tensors: dict[str, tuple[str, list[int]]], metadata: dict | None = None) -> Path:
    hdr, size = st_header(tensors)
    if metadata is not None:
        hdr = {"__metadata__": metadata, **hdr}
    return write_raw(path, hdr, size)


def llama_tensors(layers: int = L, vocab: int = V, dtype: str = "F32", lm_head: bool = True,
                  experts: int = 0) -> dict[str, tuple[str, list[int]]]:
    t = {"model.embed_tokens.weight": (dtype, [vocab, H])}
    for i in range(layers):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = (dtype, [H])
        for n in "qkvo":
            t[p + f"self_attn.{n}_proj.weight"] = (dtype, [H, H])
        t[p + "post_attention_layernorm.weight"] = (dtype, [H])
        if experts:
            t[p + "block_sparse_moe.gate.weight"] = (dtype, [experts, H])
            for e in range(experts):
                for n, s in (("w1", [I, H]), ("w2", [H, I]), ("w3", [I, H])):
                    t[p + f"block_sparse_moe.experts.{e}.{n}.weight"] = (dtype, s)
        else:
            t[p + "mlp.gate_proj.weight"] = (dtype, [I, H])
            t[p + "mlp.up_proj.weight"] = (dtype, [I, H])
            t[p + "mlp.down_proj.weight"] = (dtype, [H, I])
    t["model.norm.weight"] = (dtype, [H])
    if lm_head:
        t["lm_head.weight"] = (dtype, [vocab, H])
    return t


def llama_config(**over) -> dict:
    c = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": H, "intermediate_size": I,
         "num_hidden_layers": L, "num_attention_heads": 2, "num_key_value_heads": 2, "vocab_size": V,
         "max_position_embeddings": 64, "tie_word_embeddings": False, "torch_dtype": "float32",
         "bos_token_id": 1, "eos_token_id": 2}
    c.update(over)
    return c


def write_json(path: Path, obj) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj, indent=1))
    return path


def model(d: Path, config: dict | None = None, tensors=None) -> Path:
    """A complete tiny Llama repository: config.json + model.safetensors."""
    write_json(d / "config.json", config or llama_config())
    write_st(d / "model.safetensors", tensors or llama_tensors())
    return d


def sharded(d: Path, shards: dict[str, dict], weight_map: dict[str, str] | None = None,
            total_size: int | None = None, write: tuple[str, ...] | None = None, config: dict | None = None) -> Path:
    """Shards ``{file: tensors}`` plus an index (the true one unless ``weight_map``/``total_size`` are given)."""
    write_json(d / "config.json", config or llama_config())
    wm, total = {}, 0
    for f, ts in shards.items():
        if write is None or f in write:
            write_st(d / f, ts)
        for name in ts:
            wm[name] = f
        total += st_header(ts)[1]
    write_json(d / "model.safetensors.index.json",
               {"metadata": {"total_size": total if total_size is None else total_size},
                "weight_map": wm if weight_map is None else weight_map})
    return d


def two_shards():
    t = list(llama_tensors().items())
    return {"model-00001-of-00002.safetensors": dict(t[:8]), "model-00002-of-00002.safetensors": dict(t[8:])}


LFS_POINTER = (b"version https://git-lfs.github.com/spec/v1\n"
               b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 4998663696\n")


# --- pickles, written opcode by opcode (nothing here is ever unpickled) -----------------------------------

def _global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _sg(module: str, name: str) -> bytes:  # protocol 4: STACK_GLOBAL with memoized strings
    return (b"\x8c" + bytes([len(module)]) + module.encode() + b"\x94"
            + b"\x8c" + bytes([len(name)]) + name.encode() + b"\x94\x93\x94")


def state_dict_pickle(names=("w",), extra_global: tuple[str, str] | None = None) -> bytes:
    """A torch-style state dict pickle: OrderedDict of _rebuild_tensor_v2(persistent storage, ...) calls."""
    out = [b"\x80\x02" + _global("collections", "OrderedDict") + b")R"]
    for i, n in enumerate(names):
        out.append(b"X" + struct.pack("<I", len(n.encode())) + n.encode())
        out.append(_global("torch._utils", "_rebuild_tensor_v2"))
        # args: (persistent_id(('storage', FloatStorage, key, 'cpu', 4)), 0, (4,), (1,), False, OrderedDict())
        out.append(b"(" + b"(X\x07\x00\x00\x00storage" + _global("torch", "FloatStorage")
                   + b"X" + struct.pack("<I", len(str(i))) + str(i).encode() + b"X\x03\x00\x00\x00cpuK\x04tQ"
                   + b"K\x00K\x04\x85K\x01\x85\x89" + _global("collections", "OrderedDict") + b")Rt" + b"R")
        out.append(b"s")
    if extra_global:
        out.append(b"X\x01\x00\x00\x00x" + _sg(*extra_global) + b"X\x02\x00\x00\x00hi\x85R" + b"s")
    return b"".join(out) + b"."


def torch_zip(path: Path, pkl: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/data/0", b"\0" * 16)
        z.writestr("archive/version", "3\n")
    return path


def plain_pickle(path: Path, pkl: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pkl)
    return path


EVIL = b"\x80\x04" + _sg("posix", "system") + b"\x8c\x05echo!\x94\x85\x94R\x94."
TRAINING_ARGS = b"\x80\x02" + _global("transformers.training_args", "TrainingArguments") + b")\x81}b."
#: torch.save(model) of a user-defined class: the class is imported (and its code runs) on load
FULL_MODEL = b"\x80\x02" + _global("mymodel.modeling", "MyModel") + b")\x81}b."


# --- tokenizers (the real library) ---------------------------------------------------------------------

def tokenizer_json(n_base: int, added: dict[int, str] | None = None) -> str:
    from tokenizers import AddedToken, Tokenizer
    from tokenizers.models import WordLevel

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for i in range(3, n_base):
        vocab[f"w{i}"] = i
    tk = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    for i, content in sorted((added or {}).items()):
        assert i == tk.get_vocab_size(with_added_tokens=True), "added ids must follow the base vocabulary"
        tk.add_special_tokens([AddedToken(content, special=True)])
    return tk.to_str()


def tokenizer_config(added: dict[int, str] | None = None, **special) -> dict:
    d = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
    d["added_tokens_decoder"] = {str(i): {"content": c, "special": True, "lstrip": False, "rstrip": False,
                                          "normalized": False, "single_word": False}
                                 for i, c in {0: "<unk>", 1: "<s>", 2: "</s>", **(added or {})}.items()}
    d.update(special)
    return d


def with_tokenizer(d: Path, n_base: int = V, added=None, cfg_added=None, rows: int = V, **special) -> Path:
    model(d, llama_config(vocab_size=rows), llama_tensors(vocab=rows))
    write_json(d / "tokenizer.json", tokenizer_json(n_base, added))
    write_json(d / "tokenizer_config.json", tokenizer_config(added if cfg_added is None else cfg_added, **special))
    return d


# --- the cases ------------------------------------------------------------------------------------------

NEUTRAL_CONFIG = {"architectures": ["CustomModel"], "model_type": "custom"}


def _one(d, header, data_len, **kw):
    write_json(d / "config.json", NEUTRAL_CONFIG)
    write_raw(d / "model.safetensors", header, data_len, **kw)


def _valid(d):
    model(d)


def st000_fire(d):
    model(d)
    os.remove(d / "model.safetensors")
    os.symlink(d / "nowhere.safetensors", d / "model.safetensors")


def st000_near(d):
    write_json(d / "config.json", llama_config())
    write_st(d / "weights" / "real.safetensors", llama_tensors())
    os.symlink(d / "weights" / "real.safetensors", d / "model.safetensors")


def _trunc(d, delta):
    model(d)
    os.truncate(d / "model.safetensors", os.path.getsize(d / "model.safetensors") + delta)


def st009_fire(d):
    hdr, size = st_header({"a": ("F32", [2]), "b": ("F32", [2])})
    hdr["b"]["data_offsets"] = [12, 20]
    _one(d, hdr, 20)


def st009_near(d):
    hdr, size = st_header({"a": ("F32", [2]), "b": ("F32", [2])})
    _one(d, {"b": hdr["b"], "a": hdr["a"]}, size)


CASES = {
    "ST000": (st000_fire, st000_near),
    "ST001": (lambda d: (write_json(d / "config.json", llama_config()),
                         (d / "model.safetensors").write_bytes(b"\x10\x00\x00")), _valid),
    "ST002": (lambda d: _one(d, st_header({"a": ("F32", [2])})[0], 8, length=1 << 20),
              lambda d: _one(d, st_header({"a": ("F32", [2])})[0], 8)),
    "ST003": (lambda d: _one(d, '{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}', 8),
              lambda d: _one(d, '{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}      ', 8, pad=False)),
    "ST004": (lambda d: _one(d, {"a": {"dtype": "F32", "shape": [2]}}, 8),
              lambda d: _one(d, {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8], "note": "x"}}, 8)),
    "ST005": (lambda d: _one(d, {"a": {"dtype": "F7", "shape": [2], "data_offsets": [0, 2]}}, 2),
              lambda d: _one(d, {"a": {"dtype": "F8_E8M0", "shape": [2], "data_offsets": [0, 2]}}, 2)),
    "ST006": (lambda d: _one(d, {"a": {"dtype": "U8", "shape": [-2, 1], "data_offsets": [0, 2]}}, 2),
              lambda d: _one(d, {"a": {"dtype": "U8", "shape": [0, 4], "data_offsets": [0, 0]},
                                 "b": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}}, 2)),
    "ST007": (lambda d: _one(d, {"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, 8),
              lambda d: _one(d, {"a": {"dtype": "F4", "shape": [4], "data_offsets": [0, 2]}}, 2)),
    "ST008": (lambda d: _trunc(d, -4), _valid),
    "ST009": (st009_fire, st009_near),
    "ST010": (lambda d: _one(d, st_header({"a": ("F32", [2])})[0], 12),
              lambda d: _one(d, json.dumps(st_header({"a": ("F32", [2])})[0]) + " " * 37, 8, pad=False)),
    "ST011": (lambda d: (write_json(d / "config.json", llama_config()), (d / "model.safetensors").write_bytes(LFS_POINTER)),
              lambda d: (model(d), (d / "model.safetensors.lfs-pointer").write_bytes(LFS_POINTER))),
    "ST012": (lambda d: (write_json(d / "config.json", llama_config()), (d / "model.safetensors").write_bytes(b"")),
              lambda d: _one(d, "{}", 0, pad=False)),
    "ST013": (lambda d: _one(d, '{"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, '
                                '"a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}', 2),
              lambda d: _one(d, '{"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, '
                                '"A": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}', 2)),
}


# index vs shards
def _shards(d, **kw):
    return sharded(d, two_shards(), **kw)


def ix001_fire(d):
    s = two_shards()
    wm = {n: f for f, ts in s.items() for n in ts}
    wm["model.layers.9.mlp.up_proj.weight"] = "model-00002-of-00002.safetensors"
    sharded(d, s, weight_map=wm)


def ix002_fire(d):
    s = two_shards()
    s["model-00002-of-00002.safetensors"]["model.embed_tokens.weight"] = ("F32", [V, H])
    sharded(d, s, total_size=sum(st_header(t)[1] for t in s.values()))


def ix003_fire(d):
    s = two_shards()
    wm = {n: f for f, ts in s.items() for n in ts}
    del wm["model.norm.weight"]
    sharded(d, s, weight_map=wm)


def ix004_fire(d):
    s = two_shards()
    wm = {n: f for f, ts in s.items() for n in ts}
    wm["model.norm.weight"] = "model-00001-of-00002.safetensors"
    sharded(d, s, weight_map=wm)


def ix007_fire(d):
    write_json(d / "config.json", NEUTRAL_CONFIG)
    write_st(d / "a.safetensors", {"x": ("F32", [2])})
    write_st(d / "b.safetensors", {"x": ("F32", [2])})


def ix007_near(d):
    write_json(d / "config.json", NEUTRAL_CONFIG)
    write_st(d / "a.safetensors", {"x": ("F32", [2])})
    write_st(d / "b.safetensors", {"y": ("F32", [2])})


CASES.update({
    "IX001": (ix001_fire, _shards),
    "IX002": (ix002_fire, _shards),
    "IX003": (ix003_fire, _shards),
    "IX004": (ix004_fire, _shards),
    "IX005": (lambda d: _shards(d, write=("model-00001-of-00002.safetensors",)), _shards),
    "IX006": (lambda d: _shards(d, total_size=12345), _shards),
    "IX007": (ix007_fire, ix007_near),
    "IX008": (lambda d: _shards(d, write=()), _shards),
    "IX009": (lambda d: (_shards(d), write_st(d / "model.safetensors", llama_tensors())),
              lambda d: (_shards(d), write_st(d / "consolidated.safetensors", llama_tensors()))),
})


# metadata
def md002_fire(d):
    s = two_shards()
    wm = {n: f for f, ts in s.items() for n in ts}
    wm["model.norm.weight"] = "../../etc/model-00002-of-00002.safetensors"
    sharded(d, s, weight_map=wm)


def md002_near(d):
    write_json(d / "config.json", llama_config())
    write_st(d / "model..v2.safetensors", llama_tensors())
    write_json(d / "model.safetensors.index.json",
               {"metadata": {"total_size": st_header(llama_tensors())[1]},
                "weight_map": {n: "model..v2.safetensors" for n in llama_tensors()}})


CASES.update({
    "MD001": (lambda d: (model(d), write_json(d / "generation_config.json", '{"bos_token_id": 1,}')),
              lambda d: (model(d), write_json(d / "generation_config.json", '{"bos_token_id": 1, "note": "\u00e9t\u00e9"}\n'))),
    "MD002": (md002_fire, md002_near),
    "MD003": (lambda d: write_st(d / "model.safetensors", llama_tensors()), _valid),
})


# pickles
CASES.update({
    "PK001": (lambda d: (model(d), plain_pickle(d / "optimizer.pt", EVIL)),
              lambda d: (model(d), torch_zip(d / "pytorch_model.bin", state_dict_pickle(("a", "b"))))),
    "PK002": (lambda d: (model(d), plain_pickle(d / "model.pt", FULL_MODEL)),
              lambda d: (model(d), plain_pickle(d / "training_args.bin", TRAINING_ARGS))),
    "PK003": (lambda d: (write_json(d / "config.json", llama_config()),
                         torch_zip(d / "pytorch_model.bin", state_dict_pickle())),
              lambda d: (model(d), torch_zip(d / "pytorch_model.bin", state_dict_pickle()))),
    "PK004": (lambda d: (model(d), torch_zip(d / "pytorch_model.bin", state_dict_pickle())),
              lambda d: (model(d), plain_pickle(d / "training_args.bin", TRAINING_ARGS))),
    "PK005": (lambda d: (model(d), torch_zip(d / "pytorch_model.bin", state_dict_pickle()[:-40])),
              lambda d: (model(d), torch_zip(d / "pytorch_model.bin", state_dict_pickle(("a", "b", "c"))))),
    "PK006": (lambda d: (model(d), plain_pickle(d / "model.pt", FULL_MODEL)),
              lambda d: (model(d), plain_pickle(d / "training_args.bin", TRAINING_ARGS))),
    "PK007": (lambda d: (model(d), (d / ".ckptscope.toml").write_text('ignore = ["PK002"]\n')),
              lambda d: (model(d), (d / ".ckptscope.toml").write_text('ignore = ["TK006"]\n'))),
})
#: options a case runs with (what the command line would give); PK007's settings are read from the repository
CASE_OPTIONS = {"PK006": {"allow_globals": ["mymodel.modeling.MyModel"]}}
SETTINGS_CASES = ("PK007",)


# config vs tensors
def _moe(d, stored: int, configured: int = 4):
    cfg = llama_config(architectures=["MixtralForCausalLM"], model_type="mixtral", num_local_experts=configured,
                       num_experts_per_tok=2)
    model(d, cfg, llama_tensors(experts=stored))


def _mixed(d, config_dtype: str):
    t = llama_tensors(dtype="BF16")
    t["model.norm.weight"] = ("F32", [H])
    model(d, llama_config(torch_dtype=config_dtype), t)


CASES.update({
    "CF001": (lambda d: _mixed(d, "float32"), lambda d: _mixed(d, "bfloat16")),
    "CF002": (lambda d: model(d, llama_config(tie_word_embeddings=False), llama_tensors(lm_head=False)), _valid),
    "CF003": (lambda d: model(d, llama_config(tie_word_embeddings=True), llama_tensors(lm_head=True)),
              lambda d: model(d, llama_config(tie_word_embeddings=True), llama_tensors(lm_head=False))),
    "CF004": (lambda d: _moe(d, 3), lambda d: _moe(d, 4)),
    "CF005": (lambda d: model(d, llama_config(vocab_size=V), llama_tensors(vocab=V - 4)), _valid),
    "CF006": (lambda d: model(d, llama_config(num_hidden_layers=3), llama_tensors(layers=2)), _valid),
    "CF007": (lambda d: model(d, llama_config(num_hidden_layers=2), llama_tensors(layers=3)),
              lambda d: model(d, llama_config(num_hidden_layers=2, num_nextn_predict_layers=1),
                              llama_tensors(layers=3))),
})


# tokenizer
CASES.update({
    "TK001": (lambda d: with_tokenizer(d, n_base=V, added={V: "<extra>"}, rows=V),
              lambda d: with_tokenizer(d, n_base=V, added={V: "<extra>"}, rows=V + 28)),
    "TK002": (lambda d: (with_tokenizer(d), write_json(d / "generation_config.json", {"eos_token_id": [2, V + 5]})),
              lambda d: (with_tokenizer(d), write_json(d / "generation_config.json", {"eos_token_id": [2, V - 1]}))),
    "TK003": (lambda d: with_tokenizer(d, pad_token="<pad>"), lambda d: with_tokenizer(d, pad_token="</s>")),
    "TK004": (lambda d: with_tokenizer(d, n_base=V - 2, added={V - 2: "<a>", V - 1: "<b>"},
                                       cfg_added={V - 2: "<a>", V - 1: "<c>"}),
              lambda d: with_tokenizer(d, n_base=V - 2, added={V - 2: "<a>", V - 1: "<b>"})),
    "TK005": (lambda d: with_tokenizer(d, n_base=V - 2, added={V - 2: "<a>", V - 1: "<b>"}, cfg_added={V - 2: "<a>"}),
              lambda d: with_tokenizer(d, n_base=V - 2, added={V - 2: "<a>", V - 1: "<b>"})),
    "TK006": (lambda d: with_tokenizer(d, n_base=V - 10, rows=V), lambda d: with_tokenizer(d)),
})

# reconciliation with the architecture rules (analysis.arch)
def _edit(d, fn):
    t = llama_tensors()
    fn(t)
    model(d, llama_config(), t)


def _with_neutral(d):
    write_json(d / "config.json", NEUTRAL_CONFIG)
    write_st(d / "model.safetensors", {"encoder.w": ("F32", [4, 4])})


CASES.update({
    "RC001": (lambda d: _edit(d, lambda t: t.pop("model.layers.1.mlp.up_proj.weight")), _valid),
    "RC002": (lambda d: _edit(d, lambda t: t.update({"model.layers.0.self_attn.rotary.weight": ("F32", [H])})),
              _valid),
    "RC003": (lambda d: _edit(d, lambda t: t.update({"model.layers.0.self_attn.k_proj.weight": ("F32", [4, H])})),
              lambda d: model(d, llama_config(num_key_value_heads=1),
                              {**llama_tensors(), **{f"model.layers.{i}.self_attn.{n}_proj.weight": ("F32", [4, H])
                                                     for i in range(L) for n in "kv"}})),
    "RC004": (lambda d: _edit(d, lambda t: t.update({"model.norm.weight": ("F16", [H])})), _valid),
    "RC005": (_with_neutral, _valid),
})


# --- repo kinds: copies of the repos the real libraries saved (fixtures/kinds, tools/make_kind_fixtures.py) ---
KINDS = Path(__file__).resolve().parents[2] / "fixtures" / "kinds"


def _kind(d: Path, name: str) -> Path:
    import shutil

    shutil.copytree(KINDS / name, d, dirs_exist_ok=True)
    return d


def _adapter(d: Path, base: str | None = None, **cfg) -> Path:
    _kind(d, "peft-lora-tiny-llama")
    ac = json.loads((d / "adapter_config.json").read_text())
    ac["base_model_name_or_path"] = base if base is not None else str(KINDS / "tiny-llama")
    ac.update(cfg)
    write_json(d / "adapter_config.json", ac)
    return d


def _dense_out(d: Path, out: int) -> Path:
    _kind(d, "st-tiny-bert-dense")
    c = json.loads((d / "2_Dense" / "config.json").read_text())
    c["out_features"] = out
    write_json(d / "2_Dense" / "config.json", c)
    return d


def _wrong_base(d: Path) -> Path:
    c = json.loads((KINDS / "tiny-llama" / "config.json").read_text())
    c.update(hidden_size=96, head_dim=48)
    write_json(d / "base" / "config.json", c)
    return _adapter(d, str(d / "base"))


def _st_without_normalize_folder(d: Path) -> Path:
    import shutil

    _kind(d, "st-tiny-bert-dense")
    shutil.rmtree(d / "3_Normalize")  # Normalize saves nothing; on the Hub its folder does not exist
    return d


def _unlink(d: Path, *rels: str) -> Path:
    for r in rels:
        (d / r).unlink()
    return d


def _truncate(p: Path, keep: float) -> None:
    data = p.read_bytes()
    p.write_bytes(data[: int(len(data) * keep)])


CASES.update({
    "KD001": (lambda d: _unlink(_kind(d, "diffusers-tiny-sd"), "vae/diffusion_pytorch_model.safetensors",
                                "vae/diffusion_pytorch_model.fp16.safetensors"),
              lambda d: _kind(d, "diffusers-tiny-sd")),
    "KD002": (lambda d: (_kind(d, "diffusers-tiny-sd"),
                         (d / "unet" / "diffusion_pytorch_model.fp16.safetensors").write_bytes(
                             (KINDS / "diffusers-tiny-sd" / "vae" / "diffusion_pytorch_model.fp16.safetensors")
                             .read_bytes())),
              lambda d: _kind(d, "diffusers-tiny-sd")),
    "KD003": (lambda d: _unlink(_kind(d, "st-tiny-bert-dense"), "2_Dense/model.safetensors"),
              _st_without_normalize_folder),
    "KD004": (lambda d: _dense_out(d, 12), lambda d: _dense_out(d, 8)),
    "KD010": (lambda d: _adapter(d, r=4), lambda d: _adapter(d, r=8)),
    "KD011": (_wrong_base, lambda d: _adapter(d)),
    "KD020": (lambda d: (_kind(d, "onnx-tiny-external"), _truncate(d / "model.onnx", 0.6)),
              lambda d: _kind(d, "onnx-tiny-external")),
    "KD021": (lambda d: _unlink(_kind(d, "onnx-tiny-external"), "model.onnx_data"),
              lambda d: _kind(d, "onnx-tiny-external")),
    "KD030": (lambda d: _adapter(d, "ckptscope-test/tiny-llama"), lambda d: _adapter(d)),
})

#: rules that only exist with the architecture rules (analysis.arch)
ARCH_RULES = ("RC001", "RC002", "RC003", "RC004", "RC005")
#: fallbacks that run only when the architecture rules do not reconcile the model
FALLBACK_RULES = ("CF005", "CF006", "CF007")


# GGUF: one hostile file per llama.cpp loader check (tests/ggufgen.py HOSTILE); near miss: a sound file written by
# gguf-py's GGUFWriter
def _gguf_blob(blob):
    return lambda d: (d / "model.gguf").write_bytes(blob)


def _gguf_sound(d):
    import ggufgen

    ggufgen.write_tiny(d / "model-Q8_0.gguf")


def _gguf_truncated(d):
    import ggufgen

    p = ggufgen.write_tiny(d / "model-Q8_0.gguf")[0]
    data = p.read_bytes()
    p.write_bytes(data[: len(data) - 4096])


def _gguf_bad_token(d):
    import struct

    from ggufgen import ARCH, gguf, s

    toks = s(b"tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 2) + s(b"ok") + s(b"\xff\xfe")
    (d / "model.gguf").write_bytes(gguf([ARCH, toks], []))


def _gguf_split_missing(d):
    import ggufgen

    files = ggufgen.write_tiny(d / "model-Q8_0.gguf", split_max_tensors=8)
    files[1].unlink()


def _gguf_cases() -> dict:
    from ggufgen import HOSTILE

    out: dict = {}
    for _name, blob, rule in HOSTILE:
        out.setdefault(rule, (_gguf_blob(blob), _gguf_sound))
    out["GG012"] = (_gguf_truncated, _gguf_sound)
    out["GG014"] = (_gguf_bad_token, _gguf_sound)
    out["GG015"] = (_gguf_split_missing, _gguf_sound)
    return out


CASES.update(_gguf_cases())


def build(rule: str, which: str, root: Path) -> Path:
    d = Path(root) / f"{rule}-{which}"
    d.mkdir(parents=True, exist_ok=True)
    CASES[rule][0 if which == "fire" else 1](d)
    return d


if __name__ == "__main__":  # pragma: no cover
    import sys

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "check-corpus")
    for r in CASES:
        for w in ("fire", "near"):
            print(build(r, w, out))


# refused before any rule runs (readers/validate_config.py, limits.py)
def _symlinked_config(d, target_outside: bool):
    model(d)
    real = (d.parent / "outside-config.json") if target_outside else (d / "configs" / "real-config.json")
    real.parent.mkdir(parents=True, exist_ok=True)
    real.write_text((d / "config.json").read_text())
    (d / "config.json").unlink()
    (d / "config.json").symlink_to(real)


CASES.update({
    # a billion layers beside a valid shard: transformers would try to build them; the gate must not pass
    "CF020": (lambda d: model(d, llama_config(num_hidden_layers=1_000_000_000)),
              lambda d: model(d, llama_config(num_hidden_layers=L, max_position_embeddings=131072))),
    # config.json a symlink leaving the checkout (a git repository can carry one)
    "MD010": (lambda d: _symlinked_config(d, True), lambda d: _symlinked_config(d, False)),
})
