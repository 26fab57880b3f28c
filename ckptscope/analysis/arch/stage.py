"""The report stage: architecture summary (predicted totals, active parameters, MTP apart), reconciliation
with the headers, and the tokenizer-vs-embedding check."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from itertools import repeat

from ..classify import BUFFER, EMBEDDING, EXPERTS, LM_HEAD, MTP, POSITION, QUANT, SPEECH, classify, packing_factor

#: multimodal prefixes: model.language_model. (transformers 5 VLMs), language_model.model. (LLaVA-style),
#: model.text_model. (Idefics3), thinker.model. (omni models)
EMBED_NAMES = re.compile(r"^(?:model\.language_model\.|language_model\.model\.|model\.text_model\.|thinker\.model\."
                         r"|model\.|transformer\.|bert\.|gpt_neox\.|roberta\.|distilbert\.|electra\.|mpnet\.)?(?:embeddings\.)?"
                         r"(embed_tokens|wte|word_embeddings|tok_embeddings|embed_in|shared)\.weight$")
HEAD_NAMES = re.compile(r"^(?:language_model\.|thinker\.)?"
                        r"(lm_head|embed_out|output|cls\.predictions\.decoder)\.weight$")
_EMBED_OR_HEAD = re.compile(EMBED_NAMES.pattern + "|" + HEAD_NAMES.pattern)


_PACKABLE = frozenset({"I32", "U32", "I8", "U8"})  #: packing_factor is 1 for every other stored dtype


def _human(n: float) -> str:
    from ...units import human_count

    return human_count(n)


def _components(tensors, config) -> list[tuple]:
    """[(None, component, is_mtp, layer, parameters)] summed per (component, MTP, layer), for predicted tensors
    (component known: no regexes) or real ones (classified by name). Counted in C-level passes (list
    comprehensions, a Counter over zipped columns); callers share the list and only sum it."""
    from ..classify import classify_many

    tensors = tensors if isinstance(tensors, list) else list(tensors)
    if not tensors:
        return []
    names = [t.name for t in tensors]
    dts = [t.dtype for t in tensors]
    shapes = [t.shape for t in tensors]
    mtp_start = config.num_hidden_layers if config is not None and config.num_nextn_predict_layers else None
    comps = [getattr(t, "component", None) for t in tensors]
    if None not in comps:  # predicted: the family gave the component; only the layer comes from the name
        layers = [pl.layer for pl in classify_many(names)]
        mtps = [c == MTP for c in comps]
        if "U8" in dts:  # MXFP4 blocks: two values per stored byte
            fs = [2 if (d == "U8" and n.endswith("_blocks")) else 1 for n, d in zip(names, dts)]
        else:
            fs = repeat(1)
    else:
        pls = classify_many(names, config, mtp_start)
        comps = [pl.component for pl in pls]
        mtps = [pl.is_mtp for pl in pls]
        layers = [pl.layer for pl in pls]
        fs = [packing_factor(n, d, config) if d in _PACKABLE else 1 for n, d in zip(names, dts)]
    sums: dict[tuple, int] = defaultdict(int)
    prod = math.prod
    for (comp, is_mtp, layer, shape, f), n in Counter(zip(comps, mtps, layers, shapes, fs)).items():
        sums[(comp, is_mtp, layer)] += prod(shape) * f * n
    return [(None, comp, is_mtp, layer, params) for (comp, is_mtp, layer), params in sums.items()]


def active_parameters(tensors, config, rows: list | None = None) -> dict:
    """Parameters used for one token: everything outside the routed experts (attention, dense MLPs, shared
    experts, routers, norms, embedding and head) + top-k of the routed experts of each MoE layer.
    MTP layers, quantization scales and buffers are left out; MTP is reported apart."""
    total = mtp = embed = head = routed = speech = 0
    E = config.num_experts if config is not None else None
    k = config.num_experts_per_tok if config is not None else None
    for t, comp, is_mtp, layer, params in (rows if rows is not None else _components(tensors, config)):
        if comp in (QUANT, BUFFER):
            continue
        if is_mtp:
            mtp += params
            continue
        total += params
        if comp in (EMBEDDING, POSITION):
            embed += params
        elif comp == LM_HEAD:
            head += params
        elif comp == EXPERTS:
            routed += params
        elif comp == SPEECH:  # an omni model's talker + vocoder run per audio frame, not per text token
            speech += params
    moe = bool(routed and E and k)
    routed_active = routed * k // E if moe else routed
    active = total - routed + routed_active - speech
    return {
        "total": total, "mtp": mtp, "active": active,
        "active_without_embedding": active - embed,
        "active_non_embedding": active - embed - head,
        "routed_experts": routed, "routed_active": routed_active,
        "experts": E if moe else None, "experts_per_token": k if moe else None,
        "embedding": embed, "lm_head": head, "speech_generator": speech,
        "convention": (("active = every non-expert weight (embedding and LM head included) + top-k/experts of the "
                       "routed experts; 'without embedding' drops the input embedding (a table lookup); MTP, "
                       "quantization scales and buffers excluded") if moe else
                      "dense model: every weight is used for every token (MTP, scales and buffers excluded)")
        + ("; the speech generator (talker + vocoder, run per audio frame) is not counted as active" if speech
           else ""),
    }


def _find_rows(tensors, pat) -> tuple[str, int] | None:
    for t in tensors:
        if pat.match(t.name) and len(t.shape) == 2:
            return t.name, int(t.shape[0])
    return None


def _rounding(n: int) -> int | None:
    for m in (1024, 512, 256, 128, 64, 32, 16, 8):
        if n % m == 0:
            return m
    return None


def tokenizer_check(config, tokenizer, tensors, rows: list | None = None, weights: int | None = None) -> dict | None:
    """Tokenizer ids (highest id + 1) vs config ``vocab_size`` vs embedding and LM-head rows.

    status: "ok" (all equal), "padded" (rows beyond the tokenizer: normal, e.g. rounded up to a multiple of 64),
    "broken" (the tokenizer has ids with no embedding row), "config_mismatch" (vocab_size differs from the
    embedding rows), "no_tokenizer", "no_embedding". None when there is neither config nor tensors.
    """
    if config is None and not tensors:
        return None
    tensors = list(tensors or [])
    vocab = config.vocab_size if config is not None else None
    named = [t for t in tensors if _EMBED_OR_HEAD.match(t.name)]  # a handful of tensors: the rest is not looked at
    emb = _find_rows(named, EMBED_NAMES)
    head = _find_rows(named, HEAD_NAMES)
    embed_p = 0
    if weights is None:  # the report's summary gives it; otherwise one pass over every tensor
        weights = 0
        for t, comp, is_mtp, layer, params in (rows if rows is not None else _components(tensors, config)):
            if comp not in (QUANT, BUFFER) and not is_mtp:
                weights += params
    for t, comp, is_mtp, layer, params in _components(named, config):
        if comp in (EMBEDDING, LM_HEAD) and not is_mtp:
            embed_p += params
    out = {
        "status": None, "tokenizer_ids": tokenizer.id_count if tokenizer is not None else None,
        "vocab_size": vocab, "embedding": emb[0] if emb else None, "embedding_rows": emb[1] if emb else None,
        "lm_head": head[0] if head else None, "lm_head_rows": head[1] if head else None,
        "padding_rows": 0, "missing_rows": 0,
        "embedding_share": (embed_p / weights) if weights else None,
        "embedding_parameters": embed_p,
    }
    rows = emb[1] if emb else (head[1] if head else vocab)
    share = f"; embedding{' and head' if head else ''} = {100 * out['embedding_share']:.1f}% of the parameters" \
        if out["embedding_share"] else ""
    if emb and head and emb[1] != head[1]:
        out.update(status="broken", message=f"embedding has {emb[1]:,} rows but the LM head {head[1]:,}{share}")
        return out
    if rows is None:
        out.update(status="no_embedding", message="no embedding matrix found to compare with the tokenizer")
        return out
    if vocab is not None and vocab != rows:
        out["config_mismatch"] = True
    if tokenizer is None:
        msg = f"no tokenizer files; embedding has {rows:,} rows (vocab_size {vocab:,})" if vocab else \
            f"no tokenizer files; embedding has {rows:,} rows"
        out.update(status="no_tokenizer", message=msg + share)
        return out
    ids = tokenizer.id_count
    if ids > rows:
        out.update(status="broken", missing_rows=ids - rows,
                   message=f"BROKEN: the tokenizer uses ids up to {ids - 1:,} but the embedding has only {rows:,} "
                           f"rows: {ids - rows:,} tokens have no embedding row{share}")
    elif ids < rows:
        m = _rounding(rows)
        why = f" (rows rounded up to a multiple of {m})" if m and rows - ids < m else ""
        out.update(status="padded", padding_rows=rows - ids,
                   message=f"tokenizer has {ids:,} ids, embedding {rows:,} rows: {rows - ids:,} padding rows no "
                           f"token uses{why}; normal{share}")
    else:
        out.update(status="ok", message=f"tokenizer ids = embedding rows = {rows:,}{share}")
    if out.get("config_mismatch"):
        out["status"] = "config_mismatch" if out["status"] != "broken" else "broken"
        out["message"] += f"; but config.json vocab_size is {vocab:,}"
    return out


def hub_total(tensors, config=None) -> tuple[int, str]:
    """The parameter total the Hub shows for these tensors, and its counting rule. The Hub sums the elements of
    every safetensors tensor, except for MXFP4 checkpoints (gpt-oss), whose current total counts the two 4-bit
    values packed in each byte of ``*_blocks`` and leaves the ``*_scales`` exponents out."""
    qm = str((config.quant_method if config is not None else None) or "").lower()
    mx = qm == "mxfp4" or any(t.name.endswith("_blocks") and t.dtype == "U8" for t in tensors)
    total = 0
    for t in tensors:
        n = math.prod(t.shape)
        if mx and t.dtype == "U8" and t.name.endswith("_scales"):
            continue
        total += 2 * n if (mx and t.dtype == "U8" and t.name.endswith("_blocks")) else n
    return total, ("MXFP4: *_blocks count 2 values per byte, *_scales left out" if mx else
                   "every stored element of every tensor (scales and buffers included)")


def _totals(inv, config=None) -> dict:
    p_dtype: dict[str, int] = defaultdict(int)
    b_dtype: dict[str, int] = defaultdict(int)
    n_dtype: dict[str, int] = defaultdict(int)
    comp_p: dict[str, int] = defaultdict(int)
    from ...dtypes import nbytes

    for (dt, shape, comp), n in Counter(zip([t.dtype for t in inv], [t.shape for t in inv],
                                            [t.component for t in inv])).items():
        numel = math.prod(shape)
        p_dtype[dt] += numel * n
        b_dtype[dt] += nbytes(dt, numel) * n
        n_dtype[dt] += n
        comp_p[comp] += numel * n
    if "U8" in p_dtype or str((config.quant_method if config is not None else None) or "").lower() == "mxfp4":
        ht, rule = hub_total(inv, config)
    else:  # the common case: every element counts (one pass saved on 100k-tensor checkpoints)
        ht, rule = sum(p_dtype.values()), "every stored element of every tensor (scales and buffers included)"
    out = {"tensors": len(inv), "stored_elements": sum(p_dtype.values()), "bytes": sum(b_dtype.values()),
           "hub_total": ht, "hub_counting": rule,
           "elements_by_dtype": dict(p_dtype), "bytes_by_dtype": dict(b_dtype), "tensors_by_dtype": dict(n_dtype),
           "elements_by_component": dict(comp_p)}
    if "F8_E4M3" in p_dtype:  # FP8 block checkpoints: some Hub totals leave the *_scale_inv grids out
        grids = sum(t.numel for t in inv if t.name.endswith("_scale_inv"))
        if grids:
            out["hub_total_without_scale_grids"] = ht - grids
            out["hub_counting_note"] = (
                "the Hub's total for some FP8 repositories leaves the F32 *_scale_inv grids out (DeepSeek-R1, "
                "MiniMax-M2) while others count them (DeepSeek-V3, MiniMax-M2.5): both figures are given")
    return out


def _layers(rows) -> dict:
    moe, dense, mtp = set(), set(), set()
    for t, comp, is_mtp, layer, params in rows:
        if layer is None:
            continue
        (mtp if is_mtp else moe if comp == EXPERTS else dense).add(layer)
    return {"dense": len(dense - moe - mtp), "moe": len(moe - mtp), "mtp": len(mtp)}


def _assumed(c, fam, inv, have_headers) -> list[str]:
    """What a config-only prediction takes for granted (a config cannot show checkpoint quirks)."""
    if have_headers:
        return []
    from . import module_for

    out = []
    if c.tie_word_embeddings is None:
        tied = getattr(module_for(fam), "TIE_DEFAULT", False)
        out.append(f"tie_word_embeddings is not in config.json: the {fam} default of transformers "
                   f"({'tied: no head stored' if tied else 'untied: the head is stored'}) is assumed")
    out.append("the checkpoint is assumed to be saved as current transformers saves it: no persisted buffers "
               "(rotary inv_freq, position_ids) and no stored copy of a tied head")
    if c.quant_method:
        out.append(f"quantized tensors follow quantization_config ({c.quant_method}); the Hub total follows its "
                   "counting for that format (hub_total)")
    return out


def report_stage(ck, report) -> None:
    from . import family_name, infer_layout, reconcile, try_predict

    c = ck.config
    tensors = ck.tensors
    if c is None:
        return
    fam = family_name(c)
    layout = infer_layout(c, (t.name for t in tensors)) if (fam and tensors) else None
    inv, reason = try_predict(c, layout) if fam else (None, f"no architecture rules for {c.architecture}"
                                                            f" (model_type {c.model_type})")
    arch: dict = {"label": "Rules", "family": fam, "basis": "rules" if inv is not None else None}
    fallback_inv = None
    if inv is None and not tensors:
        from .fallback import estimate_inventory

        est, basis, why = estimate_inventory(c)
        if est:
            rows = _components(est, c)
            act = active_parameters(est, c, rows)
            arch.update(basis=basis, predicted=_totals(est, c), layers=_layers(rows), active=act)
            arch["summary"] = (f"{reason}; {basis} estimate ({why}): {_human(act['total'] + act['mtp'])} parameters"
                               + (" -- APPROXIMATE, not exact" if basis == "approximate" else ""))
            report.sections["architecture"] = arch
            fallback_inv = est
    if inv is None and fallback_inv is None:
        arch["summary"] = reason + ("; every number comes from the safetensors headers" if tensors else
                                    "; nothing can be predicted")
        arch["predicted"] = None
        report.sections["architecture"] = arch
    elif inv is not None:
        rows = _components(inv, c)
        act = active_parameters(inv, c, rows)
        lay = _layers(rows)
        arch.update(layout=layout or None, predicted=_totals(inv, c), layers=lay, active=act,
                    assumed=_assumed(c, fam, inv, bool(tensors)))
        parts = [f"{fam} rules predict {len(inv):,} tensors, {_human(act['total'] + act['mtp'])} parameters"]
        if act["mtp"]:
            parts[0] += f" ({_human(act['total'])} main + {_human(act['mtp'])} MTP)"
        if lay["moe"]:
            parts.append(f"active {_human(act['active'])}/token (top-{act['experts_per_token']} of "
                         f"{act['experts']}; embedding+head counted; {_human(act['active_without_embedding'])} "
                         f"without the input embedding)")
        else:
            parts.append("dense: all parameters active")
        arch["summary"] = "; ".join(parts)
        report.sections["architecture"] = arch

    rec: dict = {"label": "Reconcile"}
    if inv is not None and tensors:
        r = reconcile(inv, tensors)
        rec.update(status="exact" if r.exact else "differs", **r.to_dict())
        if r.exact:
            rec["summary"] = (f"exact: all {r.total:,} tensors match config.json in name, shape and dtype")
            if r.counts.get("packed"):
                rec["summary"] += (f" ({r.counts['packed']:,} as packed low-bit weights of the predicted shape, "
                                   "their scales aside)")
        else:
            n = sum(v for k, v in r.counts.items() if k not in ("exact", "packed"))
            detail = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in r.counts.items()
                               if v and k not in ("exact", "packed"))
            first = r.problems()[0].describe()
            rec["summary"] = f"{n:,} of {r.total:,} tensors differ from config.json ({detail}); e.g. {first}"
            if r.exact_but_quirks:
                rec["status"] = "exact_but_quirks"
                rec["summary"] = (f"exact apart from known checkpoint quirks: " + "; ".join(
                    f"{q['count']:,} x {q['kind'].replace('_', ' ')} ({q['examples'][0]}: {q['explanation']})"
                    for q in r.quirks))
    elif inv is not None:
        rec.update(status="prediction", summary=f"prediction: no safetensors headers here, the {len(inv):,} "
                                                "tensors are predicted from config.json alone")
    else:
        rec.update(status="unavailable", summary=None)
    if rec.get("summary") is not None or rec["status"] == "unavailable":
        report.sections["reconciliation"] = rec

    if tensors:
        tc = tokenizer_check(c, ck.tokenizer, tensors, weights=report.parameters.get("main"))
    elif fallback_inv is not None:
        tc = tokenizer_check(c, ck.tokenizer, fallback_inv)
    else:
        tc = tokenizer_check(c, ck.tokenizer, inv or [], rows if inv is not None else None)
    if tc is not None:
        tc["label"] = "Tokenizer"
        tc["summary"] = tc.get("message")
        report.sections["tokenizer_check"] = tc
