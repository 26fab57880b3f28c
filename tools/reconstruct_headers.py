"""Reconstruct the safetensors headers of the fixture checkpoints and prove them against real sizes.

For each fixture checkpoint we have the real index (weight_map + metadata.total_size) and the real shard sizes
(LFS pointers), but not the shard files. The oracle (tools/oracle.py: transformers on the meta device) gives every
tensor's shape and dtype. A shard header is laid out exactly the way the `safetensors` library writes one:

  * tensors sorted by dtype (the library's dtype order, descending) then by name, data offsets laid out in that
    order, no gaps;
  * compact JSON (no spaces), ``__metadata__`` first (``{"format":"pt"}`` as transformers writes it);
  * the header padded with spaces to a multiple of 8; the file is 8 + header length + data bytes.

The layout code is checked three ways before any result is trusted:
  1. byte-equality with the real MiniLM header (fixtures/checkpoints/pypi-all-minilm-l6-v2/model.safetensors.head);
  2. byte-equality with the safetensors project's sample files (header and whole file size);
  3. byte-equality with what the installed `safetensors` library writes for the same names and dtypes on tiny
     stand-in shapes (checks the ordering rule and the JSON/padding format on every shard).
A shard's reconstruction is "proven" when 8 + header + data equals the real shard size from the LFS pointer.

Output: fixtures/headers/<checkpoint>/<shard>.json (the exact header bytes that follow the 8-byte length, padding
included) and fixtures/headers/<checkpoint>/manifest.json (real sizes, header lengths, checks). Files larger than
64 KiB are stored gzip-compressed (.json.gz).

Usage: python tools/reconstruct_headers.py   (prints a per-checkpoint report; exit 1 if any check fails)
"""

from __future__ import annotations

import gzip
import json
import re
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import oracle  # noqa: E402

CHECKPOINTS = ROOT / "fixtures" / "checkpoints"
HEADERS = ROOT / "fixtures" / "headers"
GZIP_ABOVE = 64 * 1024

DTYPE_SIZE = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1, "I16": 2, "U16": 2, "F16": 2,
    "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8,
}

# checkpoint (relative to fixtures/checkpoints) -> oracle stem
ORACLE_OF = {
    "github-cogito-v1-preview-qwen-14b": "checkpoint__cogito-v1-preview-qwen-14b",
    "github-reflection-llama-3.1-70b": "checkpoint__reflection-llama-3.1-70b",
    "github-wizardlm-2-8x22b": "checkpoint__wizardlm-2-8x22b",
    "github-granite-3.1-1b-a400m-instruct/commit-0a854d4-fp32-sharded":
        "checkpoint__granite-3.1-1b-a400m-instruct__commit-0a854d4-fp32-sharded",
    "github-granite-3.1-1b-a400m-instruct/head-73154ee": "checkpoint__granite-3.1-1b-a400m-instruct__head-73154ee",
    "pypi-all-minilm-l6-v2": "checkpoint__all-minilm-l6-v2",
}


# ---------------------------------------------------------------- the safetensors layout


def library_dtype_order() -> list[str]:
    """The installed safetensors library's dtype sort order (highest first), read off a file it writes."""
    import torch
    from safetensors.torch import save

    cands = {
        "BOOL": torch.bool, "U8": torch.uint8, "I8": torch.int8, "F8_E5M2": torch.float8_e5m2,
        "F8_E4M3": torch.float8_e4m3fn, "F8_E8M0": getattr(torch, "float8_e8m0fnu", None), "I16": torch.int16,
        "U16": getattr(torch, "uint16", None), "F16": torch.float16, "BF16": torch.bfloat16, "I32": torch.int32,
        "U32": getattr(torch, "uint32", None), "F32": torch.float32, "F64": torch.float64, "I64": torch.int64,
        "U64": getattr(torch, "uint64", None),
    }
    tensors = {}
    for name, dt in cands.items():
        if dt is None:
            continue
        try:
            tensors[name] = torch.zeros(1, dtype=dt)
        except (TypeError, RuntimeError):
            continue
    blob = save(tensors)
    (n,) = struct.unpack("<Q", blob[:8])
    return [k for k in json.loads(blob[8 : 8 + n]) if k != "__metadata__"]


_ORDER: dict[str, int] | None = None


def _rank(dtype: str) -> int:
    global _ORDER
    if _ORDER is None:
        _ORDER = {d: i for i, d in enumerate(library_dtype_order())}
    return _ORDER[dtype]


def nbytes(dtype: str, shape: list[int]) -> int:
    n = DTYPE_SIZE[dtype]
    for d in shape:
        n *= d
    return n


def header_bytes(
    tensors: list[tuple[str, str, list[int]]], metadata: dict | None = None, legacy: bool = False
) -> bytes:
    """The header bytes (padded, without the 8-byte length) the safetensors library writes for these tensors.

    ``legacy=True``: the layout of safetensors < 0.3 (late 2022), seen in the project's own sample files: tensors
    sorted by name only and no padding.
    """
    # library order: dtype (library_dtype_order, highest first), then name ascending (bytewise)
    ordered = sorted(tensors, key=lambda t: t[0].encode())
    if not legacy:
        ordered = sorted(ordered, key=lambda t: _rank(t[1]))  # stable: names stay ascending within a dtype
    head: dict = {}
    if metadata is not None:
        head["__metadata__"] = metadata
    off = 0
    for name, dtype, shape in ordered:
        end = off + nbytes(dtype, shape)
        head[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, end]}
        off = end
    text = json.dumps(head, separators=(",", ":"), ensure_ascii=False).encode()
    return text if legacy else text + b" " * (-len(text) % 8)


def file_size(tensors, metadata=None) -> tuple[int, int]:
    """(header length, whole file size) for a safetensors file of these tensors."""
    h = len(header_bytes(tensors, metadata))
    return h, 8 + h + sum(nbytes(d, s) for _, d, s in tensors)


def library_header(tensors, metadata=None) -> bytes:
    """What the installed safetensors library writes for these tensors (zeros; call it with tiny shapes only).

    Used on every shard with every dim set to 1 to check our ordering and formatting.
    """
    import torch
    from safetensors.torch import save

    tdt = {
        "BOOL": torch.bool, "U8": torch.uint8, "I8": torch.int8, "I16": torch.int16, "F16": torch.float16,
        "BF16": torch.bfloat16, "I32": torch.int32, "F32": torch.float32, "F64": torch.float64, "I64": torch.int64,
        "F8_E4M3": torch.float8_e4m3fn, "F8_E5M2": torch.float8_e5m2, "U16": getattr(torch, "uint16", None),
        "U32": getattr(torch, "uint32", None), "U64": getattr(torch, "uint64", None),
    }
    blob = save({n: torch.zeros(s, dtype=tdt[d]) for n, d, s in tensors}, metadata=metadata)
    (n,) = struct.unpack("<Q", blob[:8])
    return blob[8 : 8 + n]


def _ones(tensors):
    return [(n, d, [1] * len(s)) for n, d, s in tensors]


# ---------------------------------------------------------------- self-checks of the layout code


def check_minilm() -> tuple[bool, str]:
    head = (CHECKPOINTS / "pypi-all-minilm-l6-v2" / "model.safetensors.head").read_bytes()
    facts = json.loads((CHECKPOINTS / "pypi-all-minilm-l6-v2" / "model.safetensors.facts.json").read_text())
    (n,) = struct.unpack("<Q", head[:8])
    real = json.loads(head[8 : 8 + n])
    meta = real.pop("__metadata__", None)
    tensors = [(k, v["dtype"], v["shape"]) for k, v in real.items()]
    ours = header_bytes(tensors, meta)
    hl, size = file_size(tensors, meta)
    ok = ours == head[8 : 8 + n] and size == facts["size_bytes"]
    return ok, f"MiniLM real header {n} B: byte-equal={ours == head[8:8+n]}, file size {size} vs real {facts['size_bytes']}"


def check_samples() -> tuple[bool, str]:
    """The sample files were written by safetensors 0.2 (Nov 2022): legacy layout (name order, no padding).

    Each must equal our legacy layout byte for byte (header and file size), and our modern layout must equal what
    the installed library writes for the same tensors (real shapes: they are tiny).
    """
    folder = CHECKPOINTS / "github-huggingface-safetensors-samples"
    oks, msgs = [], []
    for p in sorted(folder.glob("*.safetensors")):
        blob = p.read_bytes()
        (n,) = struct.unpack("<Q", blob[:8])
        real = json.loads(blob[8 : 8 + n])
        meta = real.pop("__metadata__", None)
        tensors = [(k, v["dtype"], v["shape"]) for k, v in real.items()]
        ours = header_bytes(tensors, meta, legacy=True)
        size = 8 + len(ours) + sum(nbytes(d, s) for _, d, s in tensors)
        modern = header_bytes(tensors, meta) == library_header(tensors, meta)
        ok = ours == blob[8 : 8 + n] and size == len(blob) and modern
        oks.append(ok)
        if not ok:
            msgs.append(f"{p.name}: ours {ours!r} real {blob[8:8+n]!r} modern-equal={modern}")
    return all(oks), (f"{len(oks)} sample files: legacy layout byte-equal and modern layout equal to the installed "
                      f"library: {sum(oks)}/{len(oks)}" + ("; " + "; ".join(msgs) if msgs else ""))


# ---------------------------------------------------------------- real shard sizes


def real_shard_sizes(folder: Path) -> dict[str, int]:
    sizes: dict[str, int] = {}
    tsv = folder / "lfs_pointers.tsv"
    if tsv.exists():
        for line in tsv.read_text().splitlines()[1:]:
            name, size, _ = line.split("\t")
            sizes[name] = int(size)
    mf = folder / "model_files.json"
    if mf.exists():
        for e in json.loads(mf.read_text())["model_files"]:
            sizes[e["name"]] = int(e["size"])
    for p in folder.glob("*.safetensors.lfs-pointer"):
        m = re.search(r"^size (\d+)$", p.read_text(), re.M)
        sizes[p.name[: -len(".lfs-pointer")]] = int(m.group(1))
    facts = folder / "model.safetensors.facts.json"
    if facts.exists():
        sizes["model.safetensors"] = json.loads(facts.read_text())["size_bytes"]
    return {k: v for k, v in sizes.items() if k.endswith(".safetensors")}


# ---------------------------------------------------------------- per checkpoint


def reconstruct(ckpt: str) -> dict:
    folder = CHECKPOINTS / ckpt
    rec = oracle.load(ORACLE_OF[ckpt])
    inv = {n: (d, s) for n, s, d in rec["tensors"]}
    sizes = real_shard_sizes(folder)
    index_path = folder / "model.safetensors.index.json"
    report: dict = {"checkpoint": ckpt, "oracle": ORACLE_OF[ckpt], "oracle_tensors": len(inv), "notes": []}
    if index_path.exists():
        index = json.loads(index_path.read_text())
        wm = index["weight_map"]
        report["index_tensors"] = len(wm)
        report["names_equal"] = set(wm) == set(inv)
        report["missing_from_oracle"] = sorted(set(wm) - set(inv))[:20]
        report["extra_in_oracle"] = sorted(set(inv) - set(wm))[:20]
        total = sum(nbytes(d, s) for d, s in inv.values())
        report["oracle_total_size"] = total
        report["index_total_size"] = index["metadata"]["total_size"]
        report["total_size_equal"] = total == index["metadata"]["total_size"]
        shards: dict[str, list] = {}
        for name, shard in wm.items():
            shards.setdefault(shard, []).append(name)
    else:
        # single file: the oracle's names (the MiniLM file keeps its real header, which the oracle cannot know)
        (only,) = sizes
        shards = {only: list(inv)}
        report["names_equal"] = None
    if ckpt == "pypi-all-minilm-l6-v2":
        head = (folder / "model.safetensors.head").read_bytes()
        (n,) = struct.unpack("<Q", head[:8])
        real = json.loads(head[8 : 8 + n])
        real.pop("__metadata__")
        report["names_equal"] = set(real) == set(inv)
        report["missing_from_oracle"] = sorted(set(real) - set(inv))
        report["extra_in_oracle"] = sorted(set(inv) - set(real))
        shapes_ok = all(real[k]["shape"] == inv[k][1] and real[k]["dtype"] == inv[k][0] for k in inv if k in real)
        report["shapes_equal_on_common"] = shapes_ok
        report["notes"].append("header below is the REAL one (byte-exact reconstruction of the real header); "
                               "the oracle lacks the I64 buffer embeddings.position_ids that the real file stores")
        inv = {k: (v["dtype"], v["shape"]) for k, v in real.items()}
        shards = {"model.safetensors": list(inv)}
    report["shards"] = {}
    all_ok = True
    for shard, names in sorted(shards.items()):
        if any(n not in inv for n in names):
            report["shards"][shard] = {"error": "names not in oracle"}
            all_ok = False
            continue
        tensors = [(n, inv[n][0], inv[n][1]) for n in names]
        meta = {"format": "pt"}
        hb = header_bytes(tensors, meta)
        lib_ok = header_bytes(_ones(tensors), meta) == library_header(_ones(tensors), meta)
        data = sum(nbytes(d, s) for _, d, s in tensors)
        size = 8 + len(hb) + data
        real = sizes.get(shard)
        ok = real is not None and size == real and lib_ok
        all_ok &= ok
        report["shards"][shard] = {
            "real_size": real, "reconstructed_size": size, "header_len": len(hb), "data_bytes": data,
            "tensors": len(tensors), "size_equal": size == real, "library_layout_equal": lib_ok, "_header": hb,
        }
    report["shard_sizes_equal"] = all_ok
    return report


def save(report: dict) -> Path:
    out = HEADERS / report["checkpoint"]
    if out.exists():
        for p in out.iterdir():
            p.unlink()
    out.mkdir(parents=True, exist_ok=True)
    manifest = {k: v for k, v in report.items() if k != "shards"}
    manifest["format"] = ("<shard>.json[.gz] holds the exact header bytes that follow the 8-byte little-endian "
                          "length (padding spaces included); a shard is 8 + header_len + data_bytes = real_size")
    manifest["shards"] = {}
    for shard, info in report["shards"].items():
        hb = info.pop("_header", None)
        manifest["shards"][shard] = info
        if hb is None or not info.get("size_equal"):
            continue  # only proven headers are saved
        stem = shard[: -len(".safetensors")]
        if len(hb) > GZIP_ABOVE:
            info["file"] = f"{stem}.json.gz"
            with open(out / info["file"], "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as gz:
                gz.write(hb)
        else:
            info["file"] = f"{stem}.json"
            (out / info["file"]).write_bytes(hb)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return out


def main() -> int:
    ok = True
    for check in (check_minilm, check_samples):
        good, msg = check()
        ok &= good
        print(("OK   " if good else "FAIL ") + msg)
    for ckpt in ORACLE_OF:
        r = reconstruct(ckpt)
        shards = r["shards"]
        n_eq = sum(1 for s in shards.values() if s.get("size_equal"))
        lib = all(s.get("library_layout_equal") for s in shards.values())
        print(f"{ckpt}: names_equal={r.get('names_equal')} total_size_equal={r.get('total_size_equal')} "
              f"shards size-equal {n_eq}/{len(shards)} library-layout-equal={lib}")
        for k in ("missing_from_oracle", "extra_in_oracle"):
            if r.get(k):
                print(f"   {k}: {r[k]}")
        for s, info in shards.items():
            if not info.get("size_equal"):
                print(f"   {s}: {info}")
        ok &= bool(r["shard_sizes_equal"])
        save(r)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
