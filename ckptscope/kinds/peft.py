"""PEFT adapters: ``adapter_config.json`` + ``adapter_model.safetensors`` (no config.json: the base model's is
elsewhere, named by ``base_model_name_or_path``).

LoRA tensors are ``base_model.model.<module>.lora_A.weight`` (r, in) and ``.lora_B.weight`` (out, r)
(``lora_embedding_A`` (r, vocab) / ``lora_embedding_B`` (dim, r) for embeddings, ``lora_magnitude_vector`` for
DoRA). The adapter's parameters are its tensors; per target they are grouped by the module's last name. When the
base model's config.json can be read (a local folder, or the Hub id through the Hub source), its architecture
rules give every base weight's shape: each LoRA pair must fit its (out, in), and the memory estimate is the base's
predicted bytes + the adapter's.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict

from .common import finding, human, read_json

_PAIR = re.compile(r"^(?:base_model\.model\.)?(?P<mod>.+?)\.(?P<kind>lora_A|lora_B|lora_embedding_A|lora_embedding_B"
                   r"|lora_magnitude_vector)(?:\.[\w-]+)?(?:\.weight)?$")
ADAPTER_MARK = re.compile(r"\.(lora_[A-Za-z_]+|ia3_l|hada_w\d_[ab]|hada_t\d|lokr_w\d(?:_[ab])?|lokr_t\d|oft_r"
                          r"|boft_R|vera_lambda_[bd]|fourierft_spectrum)(\.|$)")


def load(ck, source, strict: bool) -> None:
    cfg = read_json(ck, source, "adapter_config.json", strict)
    if cfg is None:
        return
    tm = cfg.get("target_modules")
    ad = {
        "type": cfg.get("peft_type"),
        "rank": cfg.get("r"),
        "alpha": cfg.get("lora_alpha"),
        "target_modules": sorted(tm) if isinstance(tm, list) else tm,
        "base_model": cfg.get("base_model_name_or_path"),
        "task_type": cfg.get("task_type"),
    }
    for k in ("use_dora", "use_rslora", "modules_to_save", "rank_pattern", "alpha_pattern", "revision"):
        if cfg.get(k):
            ad[k] = cfg[k]
    tensors = ck.tensors
    ad["parameters"] = sum(_numel(t) for t in tensors)
    ad["bytes"] = sum(t.nbytes for t in tensors)
    per: dict[str, dict] = defaultdict(lambda: {"parameters": 0, "tensors": 0, "modules": 0})
    pairs: dict[str, dict[str, object]] = defaultdict(dict)
    other = 0
    for t in tensors:
        m = _PAIR.match(t.name)
        if m:
            mod = m.group("mod")
            pairs[mod][m.group("kind")] = t
            key = mod.rsplit(".", 1)[-1]
        elif ADAPTER_MARK.search(t.name):
            key = ADAPTER_MARK.search(t.name).group(0).strip(".")
            key = t.name[: t.name.find("." + key)].rsplit(".", 1)[-1]
        else:
            other += _numel(t)
            key = "(modules_to_save and other)"
        per[key]["parameters"] += _numel(t)
        per[key]["tensors"] += 1
    for mod in pairs:
        per[mod.rsplit(".", 1)[-1]]["modules"] += 1
    ad["per_target"] = dict(sorted(per.items(), key=lambda kv: -kv[1]["parameters"]))
    ranks = sorted({int(p["lora_A"].shape[0]) for p in pairs.values() if "lora_A" in p and p["lora_A"].shape}
                   | {int(p["lora_embedding_A"].shape[0]) for p in pairs.values()
                      if "lora_embedding_A" in p and p["lora_embedding_A"].shape})
    ad["ranks_in_tensors"] = ranks
    r = cfg.get("r")
    if isinstance(r, int) and ranks and not cfg.get("rank_pattern") and ranks != [r]:
        finding(ck, "KD010", f"adapter_config.json says r = {r} but the LoRA tensors have rank "
                             f"{', '.join(map(str, ranks))}", "adapter_config.json")
    for mod, p in pairs.items():
        a, b = p.get("lora_A"), p.get("lora_B")
        if a is not None and b is not None and len(a.shape) == 2 and len(b.shape) == 2 and a.shape[0] != b.shape[1]:
            finding(ck, "KD010", f"{mod}: lora_A has rank {a.shape[0]} but lora_B {b.shape[1]}", a.file, a.name)
    base_cfg, where = _base_config(ck, source, ad["base_model"])
    ad["base"] = {"config": where}
    if base_cfg is not None:
        _against_base(ck, ad, base_cfg, pairs)
    ck.kind_info["adapter"] = ad
    what = f"{ad['type'] or 'PEFT'} adapter" + (f" r={ad['rank']}" if ad["rank"] is not None else "") + \
        (f" alpha={ad['alpha']}" if ad["alpha"] is not None else "")
    targets = ", ".join(f"{k} {human(v['parameters'])}" for k, v in ad["per_target"].items())
    base = ad["base_model"] or "?"
    ck.kind_info["summary"] = f"{what}: {human(ad['parameters'])} parameters ({targets}); base model {base}" + (
        f" ({ad['base']['reconciliation']['summary']})" if "reconciliation" in ad["base"] else
        f" (its config.json: {where})")


def _numel(t) -> int:
    import math

    return math.prod(t.shape)


def _base_config(ck, source, name):
    """(ModelConfig, where it came from) of the base model, or (None, why not)."""
    from ..errors import CkptError
    from ..readers.config import parse_config

    if not isinstance(name, str) or not name or len(name) > 1000:
        return None, "not named in adapter_config.json"
    cands = []
    if os.path.isabs(name):
        cands.append(name)
    else:
        if getattr(source, "kind", None) == "local":
            cands.append(os.path.join(source.root, name))
        cands.append(os.path.abspath(name))
    for d in cands:
        p = os.path.join(d, "config.json")
        if os.path.isfile(p):
            try:
                from ..limits import read_bounded

                return parse_config(read_bounded(p, kind="config"), p), f"read from {p}"
            except (OSError, CkptError) as e:
                return None, f"{p} could not be read ({getattr(e, 'message', e)})"
    try:
        from ..sources.hub import HubSource, parse_repo_spec
    except ImportError:  # pragma: no cover
        return None, "not a local folder"
    if parse_repo_spec(name) is None:
        return None, f"{name!r} is neither a local folder nor a Hub repo id"
    try:
        hub = HubSource.open(name, quiet=True)
        data = hub.read_file("config.json")
        cfg = parse_config(data, f"{name}/config.json")
    except CkptError as e:
        why = str(e).split(";")[0]
        return None, f"not read from the Hub ({why[:160] + '...' if len(why) > 160 else why})"
    src = getattr(hub, "kind", "hub")
    return cfg, f"read from {name} ({src}" + (f" @ {hub.revision[:12]})" if hub.revision else ")")


def _against_base(ck, ad, cfg, pairs) -> None:
    """Each LoRA pair against the base weight's (out, in); memory = base (predicted) + adapter."""
    try:
        from ..analysis import arch
    except ImportError:  # pragma: no cover
        return
    base = ad["base"]
    base["architecture"] = cfg.architecture
    base["model_type"] = cfg.model_type
    inv, reason = arch.try_predict(cfg, None) if arch.family_name(cfg) else (None, f"no architecture rules for "
                                                                                  f"{cfg.architecture}")
    if inv is None:
        base["reconciliation"] = {"status": "unavailable", "summary": reason}
        return
    shapes = {e.name: tuple(e.shape) for e in inv}
    base_bytes = sum(e.nbytes for e in inv)
    base_params = sum(e.numel for e in inv)
    base["parameters"] = base_params
    base["parameters_basis"] = "predicted from the base config.json by the architecture rules"
    checked = bad = 0
    missing = []
    for mod, p in sorted(pairs.items()):
        w = shapes.get(mod + ".weight")
        if w is None:
            missing.append(mod)
            continue
        a, b = p.get("lora_A"), p.get("lora_B")
        ea, eb = p.get("lora_embedding_A"), p.get("lora_embedding_B")
        checks = []
        if a is not None and len(w) == 2:
            checks.append((a, 1, w[1], "in_features"))
        if b is not None and len(w) == 2:
            checks.append((b, 0, w[0], "out_features"))
        if ea is not None and len(w) == 2:
            checks.append((ea, 1, w[0], "num_embeddings"))
        if eb is not None and len(w) == 2:
            checks.append((eb, 0, w[1], "embedding_dim"))
        for t, axis, want, what in checks:
            checked += 1
            if len(t.shape) != 2 or t.shape[axis] != want:
                bad += 1
                finding(ck, "KD011", f"{t.name} is {list(t.shape)} but the base {cfg.architecture} has {mod}.weight "
                                     f"{list(w)} ({what} {want})", t.file, t.name)
    for mod in missing[:20]:
        bad += 1
        finding(ck, "KD011", f"the adapter targets {mod}, which the base {cfg.architecture} does not have",
                "adapter_model.safetensors")
    status = "exact" if not bad and checked else ("differs" if bad else "unavailable")
    summ = (f"all {checked} LoRA shapes fit the base {cfg.architecture}" if status == "exact" else
            f"{bad} adapter tensors do not fit the base {cfg.architecture}" if bad else "nothing to compare")
    base["reconciliation"] = {"status": status, "checked": checked, "mismatches": bad, "summary": summ}
    ad["memory"] = {"base_bytes": base_bytes, "adapter_bytes": ad["bytes"], "total_bytes": base_bytes + ad["bytes"],
                    "basis": "base weights predicted from its config.json (stored dtype), adapter from its header"}
