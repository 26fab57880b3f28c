"""The component of a GGUF tensor name (``blk.12.attn_q.weight`` -> attention), for every architecture the
``gguf`` package knows: its ``TENSOR_NAMES`` table (``MODEL_TENSOR`` -> name template) gives the tensor kind, and
the kind's name gives the component (``ATTN_*`` attention, ``FFN_*_EXP`` routed experts, ``*_SHEXP`` shared
experts, ``FFN_GATE_INP`` router, ``*NORM*`` norms, ``V_*``/``MM_*`` vision, ``A_*`` audio, ``NEXTN_*`` MTP).
Names the table does not have fall back to ``PATTERNS``."""

from __future__ import annotations

import re
from functools import lru_cache

from .. import classify as C

#: (regex on the MODEL_TENSOR member name, component); first match wins
KIND_RULES: list[tuple[re.Pattern, str]] = [
    (re.compile(r"^(V|MM|V_MM|V_ENC|V_RESMPL|V_SAM|V_TOK|VISEXP)_|^V_"), C.VISION),
    (re.compile(r"^A_"), C.AUDIO),
    (re.compile(r"^NEXTN_"), C.MTP),
    (re.compile(r"^(FFN_GATE_INP_SHEXP|FFN_GATE_INP|FFN_EXP_PROBS_B|ALTUP_ROUTER)$"), C.ROUTER),
    (re.compile(r"SHEXP|CHEXP"), C.SHARED),
    (re.compile(r"_EXP$|_EXPS$|^MOE_LATENT"), C.EXPERTS),
    (re.compile(r"NORM"), C.NORM),
    (re.compile(r"^(TOKEN_EMBD|TOKEN_TYPES|PER_LAYER_TOKEN_EMBD)$"), C.EMBEDDING),
    (re.compile(r"^POS_EMBD$"), C.POSITION),
    (re.compile(r"^(OUTPUT|CLS|CLS_OUT|DENSE_\d_OUT)$"), C.LM_HEAD),
    (re.compile(r"^ROPE_"), C.BUFFER),
    (re.compile(r"^(ATTN_|ENC_ATTN_|DEC_ATTN_|DEC_CROSS_ATTN_|INDEXER_|POSNET_ATTN_|TIME_MIX_|SSM_|SHORTCONV_)"),
     C.ATTENTION),
    (re.compile(r"^(FFN_|ENC_FFN_|DEC_FFN_|CHANNEL_MIX_|LAUREL_)"), C.MLP),
]

#: names outside the package's table (older files, other converters)
PATTERNS: list[tuple[re.Pattern, str]] = [
    (re.compile(r"^(v|mm|mmproj|resampler)\."), C.VISION),
    (re.compile(r"^a\."), C.AUDIO),
    (re.compile(r"\.nextn\."), C.MTP),
    (re.compile(r"ffn_gate_inp|exp_probs_b"), C.ROUTER),
    (re.compile(r"_shexp\b"), C.SHARED),
    (re.compile(r"_exps\b|\.ffn_(gate|up|down)\.(\d+|#)\."), C.EXPERTS),
    (re.compile(r"norm"), C.NORM),
    (re.compile(r"^(token_embd|per_layer_token_embd|token_types)\."), C.EMBEDDING),
    (re.compile(r"^position_embd\."), C.POSITION),
    (re.compile(r"^output\."), C.LM_HEAD),
    (re.compile(r"^rope_"), C.BUFFER),
    (re.compile(r"\.(attn_|cross_attn_|ssm_|time_mix_)"), C.ATTENTION),
    (re.compile(r"\.(ffn_|channel_mix_)"), C.MLP),
]

#: first segments also used by Hugging Face names: left to the HF rules (which place them the same way)
AMBIGUOUS = frozenset({"cls", "output", "conv1d", "dense_2", "dense_3"})
_BLK = re.compile(r"(?<=\bblk\.)(\d+|#)(?=\.)")


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, str], frozenset[str]]:
    """(name template without suffix -> component, first segments of every GGUF name)."""
    from .pkg import constants

    c = constants()
    out: dict[str, str] = {}
    heads: set[str] = {"blk", "enc", "dec", "v", "a", "mm", "token_embd", "output", "output_norm", "rope_freqs"}
    if c is not None:
        for kind, tmpl in c.TENSOR_NAMES.items():
            comp = next((cmp for pat, cmp in KIND_RULES if pat.search(kind.name)), C.OTHER)
            out.setdefault(tmpl.replace("{bid}", "#"), comp)
            heads.add(tmpl.split(".", 1)[0])
    return out, frozenset(heads - AMBIGUOUS)


def is_gguf_name(name: str) -> bool:
    return name.split(".", 1)[0] in _table()[1]


@lru_cache(maxsize=16384)
def component(name: str) -> str:
    table, _ = _table()
    key = _BLK.sub("#", name)
    for cand in (key.rsplit(".", 1)[0], key):
        comp = table.get(cand)
        if comp is not None:
            return comp
    for pat, comp in PATTERNS:
        if pat.search(name):
            return comp
    return C.OTHER
