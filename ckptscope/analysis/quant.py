"""Sizes of the non-GGUF quantization schemes, and what an already-quantized checkpoint holds.

``estimate_scheme(tensors, config, scheme, group_size=...)`` predicts the safetensors bytes a checkpoint would have
after quantizing with the usual tool for each scheme. Each scheme is a small table entry (``SCHEMES``): which
components it quantizes (the rest stays 16-bit, as the tools leave them), the stored bits per weight, and the side
tensors it adds per weight matrix (scales, zeros, g_idx, absmax ...), with their shapes and dtypes.

| scheme | stored like | quantized | kept 16-bit |
|---|---|---|---|
| fp8 (block) | DeepSeek-V3: F8_E4M3 + F32 ``weight_scale_inv`` per 128x128 block | linear layers of every block (attention, MLP, experts, shared experts) | embeddings, lm_head, norms, routers, biases |
| fp8-channel | llm-compressor FP8_DYNAMIC: F8_E4M3 + BF16 ``weight_scale`` (out, 1) | same | same |
| int8 | llm-compressor W8A16: I8 + BF16 ``weight_scale`` (out, 1) | same | same |
| int4-gptq | GPTQ (AutoGPTQ/GPTQModel): I32 ``qweight`` (in/8, out), I32 ``qzeros`` (in/g, out/8), F16 ``scales`` (in/g, out), I32 ``g_idx`` (in) | same | same |
| int4-awq | AutoAWQ GEMM: I32 ``qweight`` (in, out/8), I32 ``qzeros`` (in/g, out/8), F16 ``scales`` (in/g, out) | same | same |
| nf4 / fp4 | bitsandbytes 4-bit: U8 packed (n/2), absmax per 64 (F32, or U8 + nested F32 per 256 with double quant), quant_map, quant_state | every nn.Linear in the blocks (routers included) | embeddings, lm_head, norms, biases |
| mxfp4 | gpt-oss: U8 ``_blocks`` (E, out, in/32, 16) + U8 ``_scales`` (E, out, in/32) | routed experts only | everything else (BF16) |
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import classify as C

LINEAR_COMPONENTS = frozenset({C.ATTENTION, C.MLP, C.EXPERTS, C.SHARED})


@dataclass(frozen=True)
class Scheme:
    name: str
    label: str
    bits: int  #: stored bits per weight element
    components: frozenset
    note: str


SCHEMES: dict[str, Scheme] = {
    "fp8": Scheme("fp8", "FP8 E4M3, 128x128 block scales (DeepSeek-V3 layout)", 8, LINEAR_COMPONENTS,
                  "F32 weight_scale_inv per 128x128 block"),
    "fp8-channel": Scheme("fp8-channel", "FP8 E4M3, per-channel scales (llm-compressor FP8_DYNAMIC)", 8,
                          LINEAR_COMPONENTS, "BF16 weight_scale (out, 1)"),
    "int8": Scheme("int8", "INT8 weight-only, per-channel scales (W8A16)", 8, LINEAR_COMPONENTS,
                   "BF16 weight_scale (out, 1)"),
    "int4-gptq": Scheme("int4-gptq", "INT4 GPTQ", 4, LINEAR_COMPONENTS,
                        "I32 qweight, I32 qzeros and F16 scales per group, I32 g_idx"),
    "int4-awq": Scheme("int4-awq", "INT4 AWQ (GEMM)", 4, LINEAR_COMPONENTS,
                       "I32 qweight, I32 qzeros and F16 scales per group"),
    "nf4": Scheme("nf4", "bitsandbytes NF4", 4, LINEAR_COMPONENTS | {C.ROUTER},
                  "absmax per 64 values; double quantization by default"),
    "fp4": Scheme("fp4", "bitsandbytes FP4", 4, LINEAR_COMPONENTS | {C.ROUTER},
                  "absmax per 64 values; double quantization by default"),
    "mxfp4": Scheme("mxfp4", "MXFP4 (gpt-oss layout)", 4, frozenset({C.EXPERTS}),
                    "U8 E8M0 scale per 32 values"),
}
ALIASES = {"int4": "int4-gptq", "gptq": "int4-gptq", "awq": "int4-awq", "w4a16": "int4-gptq", "w8a16": "int8",
           "fp8-block": "fp8", "fp8_block": "fp8", "fp8-dynamic": "fp8-channel", "bnb-nf4": "nf4", "bnb4": "nf4",
           "int4_gptq": "int4-gptq", "int4_awq": "int4-awq", "fp8_channel": "fp8-channel"}

_DT_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2}


def normalize_scheme(name: str) -> str | None:
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    return key if key in SCHEMES else None


@dataclass
class SchemeEstimate:
    scheme: str
    label: str
    total_bytes: int
    parameters: int  #: logical parameters (unpacked)
    weight_bytes: int  #: quantized weight payload
    scale_bytes: int  #: scales, zeros, g_idx, absmax ... (own component, not weights)
    kept_bytes: int  #: tensors left in 16/32-bit
    by_component: dict[str, dict] = field(default_factory=dict)
    assumptions: list[str] = field(default_factory=list)
    group_size: int | None = None

    @property
    def bpw(self) -> float:
        return 8.0 * self.total_bytes / self.parameters if self.parameters else 0.0

    def to_dict(self) -> dict:
        return {"scheme": self.scheme, "label": self.label, "bytes": self.total_bytes, "parameters": self.parameters,
                "bpw": round(self.bpw, 4), "weight_bytes": self.weight_bytes, "scale_bytes": self.scale_bytes,
                "kept_bytes": self.kept_bytes, "group_size": self.group_size, "by_component": self.by_component,
                "assumptions": self.assumptions}


def _logical(t) -> tuple[str, tuple[int, ...], str] | None:
    """(name, logical shape, dtype) of a weight record; None for side tensors of an already-quantized input."""
    name, shape, dtype = t.name, tuple(int(d) for d in t.shape), getattr(t, "dtype", "BF16")
    comp = C.component_of(name)
    if comp == C.QUANT or name.endswith((".g_idx", ".qzeros", ".scales", "_scales")):
        return None
    if name.endswith(".qweight") and len(shape) == 2:  # GPTQ (in/8, out) or AWQ (in, out/8): unpack to (out, in)
        a, b = shape
        return name[: -len(".qweight")] + ".weight", (b, a * 8) if dtype in ("I32", "U32") else (b, a), "BF16"
    if name.endswith("_blocks") and len(shape) == 4:  # MXFP4 (E, out, in/32, 16)
        e, o, nb, bb = shape
        return name[: -len("_blocks")], (e, o, nb * bb * 2), "BF16"
    return name, shape, dtype


def _quantizable(name: str, shape: tuple[int, ...], comp: str, sch: Scheme) -> bool:
    if comp not in sch.components or len(shape) < 2:
        return False
    last = name.rsplit(".", 1)[-1]
    if last in ("bias",) or name.endswith("_bias"):
        return False
    return True


def estimate_scheme(tensors, config, scheme: str, group_size: int | None = None,
                    double_quant: bool = True) -> SchemeEstimate:
    """Bytes of the checkpoint quantized with ``scheme`` (see the module table for the layouts)."""
    key = normalize_scheme(scheme)
    if key is None:
        raise ValueError(f"unknown quantization scheme {scheme!r}; known: {', '.join(SCHEMES)}")
    sch = SCHEMES[key]
    if key in ("int4-gptq", "int4-awq"):
        group_size = group_size or 128
    elif key == "fp8":
        group_size = group_size or 128
    elif key in ("nf4", "fp4"):
        group_size = group_size or 64
    elif key == "mxfp4":
        group_size = 32
    else:
        group_size = None
    est = SchemeEstimate(key, sch.label, 0, 0, 0, 0, 0, group_size=group_size)
    n_nested = 0  # bitsandbytes: number of quantized tensors (fixed per-tensor state)
    for t in tensors:
        lg = _logical(t)
        if lg is None:
            continue
        name, shape, dtype = lg
        comp = C.component_of(name)
        if comp in (C.BUFFER, C.VISION, C.AUDIO, C.PROJECTOR):
            continue
        n = math.prod(shape)
        est.parameters += n
        c = est.by_component.setdefault(comp, {"parameters": 0, "bytes": 0, "quantized_parameters": 0})
        c["parameters"] += n
        if not _quantizable(name, shape, comp, sch):
            b = n * _DT_BYTES.get(dtype, 2)
            est.kept_bytes += b
            c["bytes"] += b
            continue
        c["quantized_parameters"] += n
        lead = math.prod(shape[:-2]) if len(shape) > 2 else 1  # stacked experts
        out_f, in_f = shape[-2], shape[-1]
        w = n * sch.bits // 8
        g = group_size or 1
        if key == "fp8":
            s = lead * math.ceil(out_f / g) * math.ceil(in_f / g) * 4
        elif key in ("fp8-channel", "int8"):
            s = lead * out_f * 2
        elif key == "int4-gptq":
            ng = math.ceil(in_f / g)
            w = lead * math.ceil(in_f / 8) * out_f * 4
            s = lead * (ng * math.ceil(out_f / 8) * 4 + ng * out_f * 2 + in_f * 4)
        elif key == "int4-awq":
            ng = math.ceil(in_f / g)
            w = lead * in_f * math.ceil(out_f / 8) * 4
            s = lead * (ng * math.ceil(out_f / 8) * 4 + ng * out_f * 2)
        elif key in ("nf4", "fp4"):
            w = (n + 1) // 2
            nblocks = math.ceil(n / g)
            if double_quant:
                s = nblocks + math.ceil(nblocks / 256) * 4 + 256 * 4 + 4  # U8 absmax, F32 nested absmax, map, offset
            else:
                s = nblocks * 4
            s += 16 * 4 + 120  # quant_map (16 x F32) + quant_state JSON blob (about 120 bytes)
            n_nested += 1
        else:  # mxfp4
            w = n // 2
            s = lead * out_f * math.ceil(in_f / 32)
        est.weight_bytes += w
        est.scale_bytes += s
        c["bytes"] += w + s
    est.total_bytes = est.weight_bytes + est.scale_bytes + est.kept_bytes
    kept = sorted(set(C.COMPONENTS) - set(sch.components) - {C.QUANT, C.BUFFER, C.VISION, C.AUDIO, C.PROJECTOR, C.OTHER})
    est.assumptions = [f"{sch.label}: {sch.note}",
                       "quantized: 2-D+ weights of " + ", ".join(sorted(sch.components)),
                       "kept at their own 16/32-bit dtype: " + ", ".join(kept) + ", biases",
                       "bytes are safetensors tensor data (headers excluded)"]
    if group_size and key in ("int4-gptq", "int4-awq", "fp8", "nf4", "fp4"):
        est.assumptions.append(f"group/block size {group_size}" + (" x " + str(group_size) if key == "fp8" else ""))
    if key in ("nf4", "fp4"):
        est.assumptions.append("double quantization " + ("on (transformers' default)" if double_quant else "off"))
    return est


# ---- already-quantized checkpoints (inspect) --------------------------------------------------------------

def detect_scheme(config, dtypes, has_side: bool) -> dict | None:
    """What quantization an already-quantized checkpoint uses, from config.json and the tensor dtypes."""
    qc = (config.quantization_config if config is not None else None) or {}
    method = str(qc.get("quant_method") or qc.get("quant_type") or "").lower() or None
    fp8 = any(d.startswith("F8") for d in dtypes)
    if not method and not has_side and not fp8:
        return None
    d: dict = {"method": method}
    if method is None:
        d["method"] = "fp8" if fp8 else "unknown"
    for k in ("bits", "group_size", "fmt", "weight_block_size", "activation_scheme", "desc_act", "sym", "version",
              "load_in_4bit", "bnb_4bit_quant_type", "bnb_4bit_use_double_quant", "modules_to_not_convert"):
        if k in qc:
            d[k] = qc[k]
    return d


def report_stage(ck, report) -> None:
    """Add ``sections["quantization"]`` for a checkpoint that is already quantized (scheme, real size, parameters).

    Every count comes from the report's own breakdown (headers, or the predicted inventory when only config.json
    is there): nothing is classified twice."""
    p, b = report.parameters, report.bytes
    if report.basis == "config" and not (ck.config is not None and ck.config.quantization_config):
        return
    side_n = p.get("quant_side_elements", 0)
    packed = p.get("packed_logical", 0)
    sch = detect_scheme(ck.config, b.get("by_dtype", {}), bool(side_n or packed))
    if sch is None:
        return
    logical = p.get("total", 0) - side_n
    stored = b.get("total", 0)
    by_dtype = {dt: {"tensors": report.tensors.get("by_dtype", {}).get(dt, 0),
                     "elements": p.get("stored_elements", {}).get("by_dtype", {}).get(dt, 0), "bytes": nb}
                for dt, nb in b.get("by_dtype", {}).items()}
    report.sections["quantization"] = {
        "scheme": sch,
        "basis": report.basis,  #: "headers" (real stored size) or "config" (predicted by the architecture rules)
        "stored_bytes": stored,
        "stored_elements": p.get("stored_elements", {}).get("total", 0),
        "logical_parameters": logical,
        "side_tensor_bytes": b.get("by_component", {}).get(C.QUANT, 0),
        "side_tensor_elements": side_n,
        "bits_per_parameter": round(8.0 * stored / logical, 4) if logical else None,
        "by_dtype": by_dtype,
    }
