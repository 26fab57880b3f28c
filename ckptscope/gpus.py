"""GPU presets and free-form GPU specs: ``H100``, ``2xH100``, ``2x80GB``, ``24GiB``, ``a100-40gb,l4``.

Capacities are the marketed memory size in the unit the vendor uses (decimal GB for NVIDIA datacenter parts is
in fact GiB-sized HBM: an "80GB" H100 reports 81,559 MiB = 79.6 GiB to nvidia-smi). We keep, per preset, the
bytes the driver reports as total where it is known, because that is what a framework can allocate from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import CkptError

MiB = 2**20
GiB = 2**30


@dataclass(frozen=True)
class GPU:
    name: str
    bytes: int  #: total device memory as the driver reports it
    note: str = ""


def _g(name: str, mib: int, note: str = "") -> GPU:
    return GPU(name, mib * MiB, note)


#: key -> GPU. Totals in MiB as nvidia-smi / rocm-smi report them where known, else the marketed GiB.
PRESETS: dict[str, GPU] = {
    "h100": _g("H100 80GB", 81559, "SXM/PCIe 80 GB HBM3 (nvidia-smi: 81,559 MiB)"),
    "h100-80gb": _g("H100 80GB", 81559),
    "h100-94gb": _g("H100 NVL 94GB", 95830),
    "h100-nvl": _g("H100 NVL 94GB", 95830),
    "h200": _g("H200 141GB", 143771, "141 GB HBM3e (nvidia-smi: 143,771 MiB)"),
    "h200-141gb": _g("H200 141GB", 143771),
    "gh200": _g("GH200 96GB", 97871),
    "b200": _g("B200 180GB", 183359, "B200 HGX, 180 GB usable HBM3e"),
    "b300": _g("B300 288GB", 288 * 1024),
    "a100": _g("A100 80GB", 81920),
    "a100-80gb": _g("A100 80GB", 81920),
    "a100-40gb": _g("A100 40GB", 40960),
    "a10": _g("A10 24GB", 23028),
    "a10g": _g("A10G 24GB", 23028),
    "a6000": _g("RTX A6000 48GB", 49140),
    "rtx-a6000": _g("RTX A6000 48GB", 49140),
    "l40s": _g("L40S 48GB", 46068),
    "l40": _g("L40 48GB", 46068),
    "l4": _g("L4 24GB", 23034),
    "t4": _g("T4 16GB", 15360),
    "v100": _g("V100 32GB", 32768),
    "v100-16gb": _g("V100 16GB", 16384),
    "rtx-4090": _g("RTX 4090 24GB", 24564),
    "4090": _g("RTX 4090 24GB", 24564),
    "rtx-3090": _g("RTX 3090 24GB", 24576),
    "3090": _g("RTX 3090 24GB", 24576),
    "rtx-5090": _g("RTX 5090 32GB", 32607),
    "5090": _g("RTX 5090 32GB", 32607),
    "rtx-6000-ada": _g("RTX 6000 Ada 48GB", 49140),
    "rtx-pro-6000": _g("RTX PRO 6000 Blackwell 96GB", 97887),
    "mi300x": _g("MI300X 192GB", 192 * 1024),
    "mi325x": _g("MI325X 256GB", 256 * 1024),
    "mi250x": _g("MI250X 128GB", 128 * 1024),
    "gaudi3": _g("Gaudi 3 128GB", 128 * 1024),
}

_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*(tib|gib|mib|tb|gb|mb|t|g|m)?$")
_UNITS = {"tib": 2**40, "gib": GiB, "mib": MiB, "tb": 10**12, "gb": 10**9, "mb": 10**6,
          "t": 10**12, "g": 10**9, "m": 10**6, None: 10**9}


def _norm(key: str) -> str:
    k = key.strip().lower().replace("_", "-").replace(" ", "-")
    k = re.sub(r"^(nvidia|amd|geforce)-", "", k)
    return k


def parse_one(text: str) -> GPU:
    """One GPU: a preset name (``H100``, ``a100-40gb``, ``RTX 4090``) or a size (``80GB``, ``24GiB``, ``48``)."""
    k = _norm(text)
    if k in PRESETS:
        return PRESETS[k]
    if k.replace("-", "") in {p.replace("-", "") for p in PRESETS}:
        for p, g in PRESETS.items():
            if p.replace("-", "") == k.replace("-", ""):
                return g
    m = _SIZE.match(k)
    if m:
        n = float(m.group(1))
        unit = m.group(2)
        size = int(n * _UNITS[unit])
        if size <= 0:
            raise CkptError(f"GPU size must be positive, got {text!r}", "--gpus")
        label = f"{m.group(1)}{(unit or 'gb').upper().replace('IB', 'iB')}"
        return GPU(label, size, "free-form size")
    raise CkptError(f"unknown GPU {text!r} (presets: {', '.join(sorted(set(PRESETS)))}; or a size like 80GB, 24GiB)",
                    "--gpus")


def parse_gpus(spec: str) -> list[GPU]:
    """``2x80GB``, ``4xH100``, ``H100``, ``h100,l4`` (comma-separated mix) -> one GPU record per device."""
    if not spec or not spec.strip():
        raise CkptError("empty GPU spec", "--gpus")
    out: list[GPU] = []
    for part in spec.split(","):
        part = part.strip()
        m = re.match(r"^(\d+)\s*[x×*]\s*(.+)$", part, re.I)
        count, what = (int(m.group(1)), m.group(2)) if m else (1, part)
        if count < 1 or count > 4096:
            raise CkptError(f"GPU count must be 1..4096, got {count}", "--gpus")
        g = parse_one(what)
        out.extend([g] * count)
    return out


def describe(gpus: list[GPU]) -> str:
    if not gpus:
        return "none"
    names = {g.name for g in gpus}
    if len(names) == 1:
        return f"{len(gpus)} x {gpus[0].name}" if len(gpus) > 1 else gpus[0].name
    return ", ".join(g.name for g in gpus)
