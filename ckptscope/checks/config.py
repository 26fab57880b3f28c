"""config.json vs the stored tensors: torch_dtype (CF001), tied embeddings vs an LM head (CF002/CF003), expert
counts (CF004), and — through the architecture rules (``analysis.arch``) when they know the model — tensor by
tensor reconciliation (RC001..RC004). Without architecture rules, vocab rows (CF005) and layer counts
(CF006/CF007) are checked from the names alone."""

from __future__ import annotations

import re
from collections import Counter

from ..analysis.classify import AUDIO_PAT, BUFFER, PROJECTOR_PAT, QUANT, TOWERS, VISION_PAT, classify, classify_many

PLAIN_FLOATS = ("F16", "BF16", "F32", "F64")
HEAD_PAT = re.compile(r"(^|\.)(lm_head|embed_out)\.(weight|qweight|weight_packed)$|^(model\.)?output\.weight$")
EMBED_PAT = re.compile(r"(^|\.)(embed_tokens|wte|word_embeddings|tok_embeddings|embed_in)\.weight$|^shared\.weight$")
FUSED_EXPERTS = re.compile(r"\.experts\.[A-Za-z_]+$|\.block_sparse_moe\.(input|output)_linear\.weight$")
_FUSED_LINES = re.compile(FUSED_EXPERTS.pattern, re.M)  #: over names joined by newlines ($ at each name's end)
LM_ARCH_SUFFIXES = ("ForCausalLM", "LMHeadModel", "ForConditionalGeneration")


def _arch_api():
    try:
        from ..analysis import arch
    except ImportError:
        return None
    if not all(hasattr(arch, n) for n in ("predict_inventory", "reconcile")):
        return None
    return arch


def _text(name: str, pl=None) -> bool:
    """Outside the vision and audio towers. The component comes from the (memoised, per name pattern)
    classification; only quantization side-tensors, classified as such first, need the tower patterns."""
    comp = (pl or classify(name)).component
    if comp == QUANT:
        return not (VISION_PAT.search(name) or AUDIO_PAT.search(name) or PROJECTOR_PAT.search(name))
    return comp not in TOWERS


def _placed_text(ck) -> list[tuple]:
    """[(tensor, placement)] of the language model's tensors, classified once per Checkpoint."""
    cached = getattr(ck, "_check_placed_text", None)
    if cached is None:
        pls = classify_many([t.name for t in ck.tensors])
        quant = [t.name for t, pl in zip(ck.tensors, pls) if pl.component == QUANT]
        if quant and _any_tower(quant):
            cached = [(t, pl) for t, pl in zip(ck.tensors, pls) if _text(t.name, pl)]
        else:  # no quantization side-tensor names a tower (one search of all their names): the component decides
            cached = [(t, pl) for t, pl in zip(ck.tensors, pls) if pl.component not in TOWERS]
        ck._check_placed_text = cached
    return cached


#: the three tower patterns _text tries, as one search over many names joined by newlines (^ and $ at each name's
#: start and end): no match there means no match in any one name
_ANY_TOWER = re.compile("|".join(f"(?:{p.pattern})" for p in (VISION_PAT, AUDIO_PAT, PROJECTOR_PAT)), re.M)


def _pattern_words(pat: re.Pattern) -> list[str] | None:
    r"""The words of a ``(^|\.)(w1|w2|...)(\.|$)`` pattern: it matches a name exactly when one of the name's
    dot-separated parts is one of them. None for a pattern of another shape."""
    m = re.fullmatch(r"\(\^\|\\\.\)\(([\w|]+)\)\(\\\.\|\$\)", pat.pattern)
    return m.group(1).split("|") if m else None


_WORDS = [_pattern_words(p) for p in (VISION_PAT, AUDIO_PAT, PROJECTOR_PAT)]
#: every tower word, when all three patterns are word lists (then a set test replaces the regex search)
_TOWER_WORDS = frozenset(w for ws in _WORDS for w in ws) if all(_WORDS) else None


def _any_tower(names: list[str]) -> bool:
    """Does any of ``names`` lie in a vision / audio tower or projector? One set test over all their dotted
    parts (str.split in C) when the patterns are word lists, else one regex search over the joined names."""
    if _TOWER_WORDS is None:
        return _ANY_TOWER.search("\n".join(names)) is not None
    return not _TOWER_WORDS.isdisjoint(".".join(names).split("."))


def text_tensors(ck):
    """The language model's tensors (vision and audio towers aside), computed once per Checkpoint."""
    cached = getattr(ck, "_check_text_tensors", None)
    if cached is None:
        cached = [t for t, _ in _placed_text(ck)]
        ck._check_text_tensors = cached
    return cached


def embedding_rows(ck) -> tuple[str, int] | None:
    for t in ck.tensors:
        if EMBED_PAT.search(t.name) and len(t.shape) == 2 and _text(t.name):
            return t.name, t.shape[0]
    return None


def run(ctx) -> None:
    ck, c = ctx.ck, ctx.ck.config
    if c is None or not ck.tensors:
        return
    cfg = "config.json"
    tensors = text_tensors(ck)
    placed = _placed_text(ck)

    # CF001: torch_dtype vs the dominant plain float dtype of the weights (quant side-tensors and buffers aside).
    if c.dtype and ctx.on("CF001"):
        by = Counter()
        for t, pl in placed:
            if t.dtype in PLAIN_FLOATS and pl.component not in (QUANT, BUFFER):
                by[t.dtype] += t.nbytes
        if by:
            stored, nbytes = by.most_common(1)[0]
            if stored != c.dtype:
                share = nbytes / sum(by.values())
                ctx.add("CF001", f"torch_dtype is {c.dtype} but {share:.0%} of the weights' bytes are {stored}", cfg)

    # CF002 / CF003: tied embeddings vs an LM head.
    is_lm = any(a.endswith(LM_ARCH_SUFFIXES) for a in c.architectures)
    # HEAD_PAT needs one of these in the name: the substring tests spare a regex search per tensor
    heads = [t for t in tensors if ("lm_head." in t.name or "embed_out." in t.name or "output.weight" in t.name)
             and HEAD_PAT.search(t.name)]
    if is_lm and c.tie_word_embeddings is False and not heads:
        ctx.add("CF002", f"{c.architecture}: tie_word_embeddings is false and no lm_head tensor is stored, so the "
                         "LM head would be randomly initialised", cfg)
    if c.tie_word_embeddings is True and heads:
        ctx.add("CF003", "tie_word_embeddings is true but the checkpoint stores a separate LM head "
                         "(transformers ignores it and uses the embedding)", heads[0].file, heads[0].name)

    # CF004: expert counts per layer.
    if c.num_experts and c.num_experts > 1:
        per_layer: dict[str, set[int]] = {}
        for t, pl in placed:
            if pl.expert is not None and pl.layer is not None:
                per_layer.setdefault(pl.layer, set()).add(pl.expert)
        bad = {k: v for k, v in per_layer.items() if len(v) != c.num_experts or max(v) >= c.num_experts}
        if bad:
            k = sorted(bad, key=lambda x: int(re.findall(r"\d+", x)[-1]))[0]
            v = bad[k]
            more = f" ({len(bad) - 1} more layers differ)" if len(bad) > 1 else ""
            ctx.add("CF004", f"layer {k} stores {len(v)} experts (ids {min(v)}..{max(v)}) but the config "
                             f"says {c.num_experts}{more}", cfg)
        fused = _FUSED_LINES.search("\n".join([t.name for t in tensors]))  # none anywhere: no tensor to look at
        for t in tensors if fused else ():
            if FUSED_EXPERTS.search(t.name) and len(t.shape) >= 2 and t.shape[0] != c.num_experts:
                ctx.add("CF004", f"fused expert tensor has {t.shape[0]} experts ({list(t.shape)}) but the config "
                                 f"says {c.num_experts}", t.file, t.name)
                break

    arch = _arch_api()
    reconciled = False
    if arch is not None and ctx.on("RC001", "RC002", "RC003", "RC004", "RC005"):
        reconciled = _reconcile(ctx, arch, c, ck)
    if reconciled:
        return

    # CF005: embedding rows vs vocab_size.
    emb = embedding_rows(ck)
    if emb and c.vocab_size and emb[1] != c.vocab_size:
        ctx.add("CF005", f"vocab_size is {c.vocab_size:,} but {emb[0]} has {emb[1]:,} rows", cfg, emb[0])

    # CF006 / CF007: layer indices vs num_hidden_layers (decoder-only and encoder-only stacks).
    groups: dict[str, set[int]] = {}
    for t, pl in placed:
        if pl.layer is not None and not t.name.startswith(("mtp.", "model.mtp")):
            stack = pl.layer.split(".")[0] if "." in pl.layer else ""
            groups.setdefault(stack, set()).add(pl.layer_num)
    expected = {}
    if c.is_encoder_decoder:
        expected = {"encoder": c.num_hidden_layers, "decoder": c.num_decoder_layers}
    elif len(groups) == 1:
        expected = {next(iter(groups)): c.num_hidden_layers}
    for g, n in expected.items():
        have = groups.get(g)
        if not n or not have:
            continue
        missing = sorted(set(range(n)) - have)
        if missing:
            ids = ", ".join(map(str, missing[:6])) + (" ..." if len(missing) > 6 else "")
            ctx.add("CF006", f"num_hidden_layers is {n} but no tensors for {g + ' ' if g else ''}layer"
                             f"{'s' if len(missing) > 1 else ''} {ids}", cfg)
        extra = sorted(i for i in have if i >= n + (c.num_nextn_predict_layers if not g else 0))
        if extra:
            ctx.add("CF007", f"num_hidden_layers is {n} but tensors exist for {g + ' ' if g else ''}layer"
                             f"{'s' if len(extra) > 1 else ''} {', '.join(map(str, extra[:6]))}", cfg)


def _reconcile(ctx, arch, c, ck) -> bool:
    """Reconcile with the architecture rules; False when they do not know this model (RC005)."""
    names = [t.name for t in ck.tensors]
    try:
        layout = arch.infer_layout(c, names) if hasattr(arch, "infer_layout") else None
        if hasattr(arch, "try_predict"):
            expected, reason = arch.try_predict(c, layout)
        else:
            expected, reason = arch.predict_inventory(c), None
    except Exception as e:  # noqa: BLE001 - rules that fail on an odd config are "no rules"
        expected, reason = None, f"architecture rules failed on this config ({type(e).__name__}: {e})"
    if not expected:
        ctx.add("RC005", reason or f"no architecture rules for {c.architecture}", "config.json")
        return False
    rec = arch.reconcile(expected, ck.tensors)
    where = {t.name: t.file for t in ck.tensors}
    codes = {"missing": "RC001", "unexpected": "RC002", "shape_mismatch": "RC003", "dtype_mismatch": "RC004"}
    for it in rec.items:
        code = codes.get(it.status)
        if code is None:
            continue
        exp = f"{it.expected_dtype} {list(it.expected_shape)}" if it.expected_shape is not None else ""
        act = f"{it.actual_dtype} {list(it.actual_shape)}" if it.actual_shape is not None else ""
        if it.status == "missing":
            msg = f"{c.architecture} with this config.json has {it.name} ({exp}); no shard holds it"
        elif it.status == "unexpected":
            msg = f"{it.name} ({act}) is not part of {c.architecture} with this config.json"
        elif it.status == "shape_mismatch":
            msg = f"{it.name} is {act}; config.json implies {exp}"
        else:
            msg = f"{it.name} is stored as {it.actual_dtype}; expected {it.expected_dtype}"
        ctx.add(code, msg, where.get(it.name, "config.json"), it.name)
    return True
