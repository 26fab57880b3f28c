"""Tokenizer facts needed to check a checkpoint: vocabulary size, highest id, added and special tokens.

tokenizer.json is read as JSON (counts, added and special tokens; the token and merge lists are built only when
asked for); ``check`` also loads it with the ``tokenizers`` library. The slow formats (vocab.json + merges.txt,
vocab.txt) and tokenizer_config.json are fallbacks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import CkptError


@dataclass
class TokenizerInfo:
    """What the tokenizer files say. ``tokens``/``merges`` are kept for size estimates but not serialised."""

    source: str  #: file the vocabulary came from
    model_type: str | None = None  #: BPE, WordPiece, Unigram, WordLevel
    base_vocab_size: int = 0  #: tokens of the model vocabulary (without added tokens)
    added_tokens: list[dict] = field(default_factory=list)  #: [{"id", "content", "special"}]
    vocab_size: int = 0  #: distinct ids, added tokens included
    max_id: int = -1  #: highest token id
    special_tokens: dict[str, str] = field(default_factory=dict)  #: bos/eos/pad/unk... -> content
    special_token_ids: dict[str, int] = field(default_factory=dict)
    num_merges: int | None = None
    tokens: list[str] | None = field(default=None, repr=False)  #: id -> token string ("" for holes)
    merges: list[str] | None = field(default=None, repr=False)  #: "A B" strings
    byte_fallback: bool = False
    config_added_tokens: dict[int, str] = field(default_factory=dict)  #: from tokenizer_config.json

    @property
    def id_count(self) -> int:
        """Rows an embedding needs: highest id + 1."""
        return self.max_id + 1

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "model_type": self.model_type,
            "base_vocab_size": self.base_vocab_size,
            "added_tokens": len(self.added_tokens),
            "vocab_size": self.vocab_size,
            "max_id": self.max_id,
            "special_tokens": self.special_tokens,
            "special_token_ids": self.special_token_ids,
            "num_merges": self.num_merges,
        }


def _loads(data: bytes | str, file: str):
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as e:
        raise CkptError(f"is not valid JSON ({str(e).split(':')[0]})", file) from None


def _merge_str(m) -> str:
    return m if isinstance(m, str) else " ".join(m)


class _LazyTokens(Sequence):
    """id -> token string ("" for holes), built on first use: most commands only need the counts.
    ``id_to_tok`` may be a function returning that dict (the vocabulary inverted only when tokens are asked for)."""

    def __init__(self, id_to_tok, max_id: int) -> None:
        self._src, self._n, self._list = id_to_tok, max_id + 1, None

    def _get(self) -> list[str]:
        if self._list is None:
            src = self._src() if callable(self._src) else self._src
            toks = [""] * self._n
            for i, t in src.items():
                if 0 <= i < self._n:
                    toks[i] = t
            self._list, self._src = toks, None
        return self._list

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        return self._get()[i]

    def __iter__(self):
        return iter(self._get())


class _LazyMerges(Sequence):
    """Merges as "A B" strings, converted from tokenizer.json's pairs or strings on first use."""

    def __init__(self, raw: list) -> None:
        self._raw, self._list = raw, None

    def _get(self) -> list[str]:
        if self._list is None:
            self._list, self._raw = [_merge_str(m) for m in self._raw], None
        return self._list

    def __len__(self) -> int:
        return len(self._list if self._list is not None else self._raw)

    def __getitem__(self, i):
        return self._get()[i]

    def __iter__(self):
        return iter(self._get())


def from_tokenizer_json(data: bytes, file: str = "tokenizer.json") -> TokenizerInfo:
    """The counts, added and special tokens from tokenizer.json's JSON alone (no tokenizer is built: see
    :func:`verify_with_tokenizers` for the library's own load, which ``check`` runs)."""
    obj = _loads(data, file)
    if not isinstance(obj, dict) or not isinstance(obj.get("model"), dict):
        raise CkptError("has no 'model' object (not a tokenizers file)", file)
    model = obj["model"]
    info = TokenizerInfo(source=file, model_type=model.get("type"))
    vocab = model.get("vocab")
    index: dict[str, int]
    if isinstance(vocab, dict):  # BPE / WordPiece / WordLevel: token -> id
        index = vocab
        ids = set(vocab.values())
        if not all(type(i) is int for i in ids):
            index = {t: i for t, i in vocab.items() if type(i) is int}
            ids = set(index.values())
        id_to_tok = None
    elif isinstance(vocab, list):  # Unigram: [[piece, score], ...]
        id_to_tok = {i: (ent[0] if isinstance(ent, list) and ent else str(ent)) for i, ent in enumerate(vocab)}
        index = {t: i for i, t in id_to_tok.items()}
        ids = set(range(len(vocab)))
    else:
        index, ids, id_to_tok = {}, set(), {}
    info.base_vocab_size = len(ids)
    added: dict[int, str] = {}
    for a in obj.get("added_tokens") or []:
        if isinstance(a, dict) and type(a.get("id")) is int:
            info.added_tokens.append({"id": a["id"], "content": a.get("content", ""), "special": bool(a.get("special"))})
            added[a["id"]] = a.get("content", "")
    merges = model.get("merges")
    if isinstance(merges, list):
        info.merges = _LazyMerges(merges)  # type: ignore[assignment]
        info.num_merges = len(merges)
    info.byte_fallback = bool(model.get("byte_fallback"))
    all_ids = ids | added.keys() if added else ids
    info.vocab_size = len(all_ids)
    info.max_id = max(all_ids) if all_ids else -1
    if info.max_id < 10_000_000:
        info.tokens = _LazyTokens(_inverse(index, id_to_tok, added), info.max_id)  # type: ignore[assignment]
    if added:
        index = {**index, **{t: i for i, t in added.items()}}
    info._index = index  # type: ignore[attr-defined]
    return info


def _inverse(index: dict[str, int], id_to_tok: dict[int, str] | None, added: dict[int, str]):
    """A function giving id -> token (the vocabulary inverted, then the added tokens over it), for _LazyTokens:
    inverting a 100k+ vocabulary costs more than the rest of the reading and only GGUF estimates need it."""
    def get() -> dict[int, str]:
        inv = id_to_tok if id_to_tok is not None else {i: t for t, i in index.items()}
        return {**inv, **added} if added else inv

    return get


def verify_with_tokenizers(data: bytes, file: str = "tokenizer.json") -> str | None:
    """Load tokenizer.json with the ``tokenizers`` library (what users load): None when it loads, else why not.
    Costs a few hundred ms on a large vocabulary (the library releases the GIL, so callers may run it in a
    thread beside other work)."""
    try:
        from tokenizers import Tokenizer

        Tokenizer.from_str(data.decode("utf-8") if isinstance(data, bytes) else data)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # noqa: BLE001 - any rejection is the finding; a Rust panic is a BaseException
        return f"the tokenizers library cannot load it ({str(e).splitlines()[0][:120] if str(e) else type(e).__name__})"
    return None


def from_vocab_json(vocab: bytes, merges: bytes | None, file: str = "vocab.json") -> TokenizerInfo:
    obj = _loads(vocab, file)
    if not isinstance(obj, dict):
        raise CkptError("is not a token -> id object", file)
    info = TokenizerInfo(source=file, model_type="BPE")
    id_to_tok = {i: t for t, i in obj.items() if isinstance(i, int)}
    info.base_vocab_size = len(id_to_tok)
    if merges is not None:
        lines = merges.decode("utf-8", "replace").splitlines()
        info.merges = [ln for ln in lines if ln and not ln.startswith("#version")]
        info.num_merges = len(info.merges)
    _finish(info, id_to_tok)
    return info


def from_vocab_txt(data: bytes, file: str = "vocab.txt") -> TokenizerInfo:
    lines = data.decode("utf-8", "replace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    info = TokenizerInfo(source=file, model_type="WordPiece")
    id_to_tok = dict(enumerate(lines))
    info.base_vocab_size = len(id_to_tok)
    _finish(info, id_to_tok)
    return info


def _finish(info: TokenizerInfo, id_to_tok: dict[int, str]) -> None:
    info.vocab_size = len(id_to_tok)
    info.max_id = max(id_to_tok) if id_to_tok else -1
    if info.max_id < 10_000_000:
        toks = [""] * (info.max_id + 1)
        for i, t in id_to_tok.items():
            if i >= 0:
                toks[i] = t
        info.tokens = toks
    info._index = {t: i for i, t in id_to_tok.items()}  # type: ignore[attr-defined]


SPECIAL_KEYS = ("bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token")


def apply_tokenizer_config(info: TokenizerInfo, data: bytes, file: str = "tokenizer_config.json") -> None:
    """Add special tokens and the added_tokens_decoder of tokenizer_config.json; fill holes in the vocabulary."""
    obj = _loads(data, file)
    if not isinstance(obj, dict):
        return
    index: dict[str, int] = getattr(info, "_index", {})
    dec = obj.get("added_tokens_decoder")
    if isinstance(dec, dict):
        for k, v in dec.items():
            if str(k).isdigit() and isinstance(v, dict):
                info.config_added_tokens[int(k)] = v.get("content", "")
        # Slow tokenizers (vocab.json) get their added tokens only from here.
        if info.source.endswith(("vocab.json", "vocab.txt")):
            known = {a["id"] for a in info.added_tokens}
            for i, content in info.config_added_tokens.items():
                if i not in known and index.get(content) != i:
                    info.added_tokens.append({"id": i, "content": content, "special": True})
                    index[content] = i
                    info.vocab_size += 1
                    info.max_id = max(info.max_id, i)
    for key in SPECIAL_KEYS:
        v = obj.get(key)
        if isinstance(v, dict):
            v = v.get("content")
        if isinstance(v, str):
            info.special_tokens[key] = v
            if v in index:
                info.special_token_ids[key] = index[v]


# --- tokenizer.json parsed in a forked child, beside the header reading (ckptscope.background) -------------------

_FACT_FIELDS = ("source", "model_type", "base_vocab_size", "added_tokens", "vocab_size", "max_id", "special_tokens",
                "special_token_ids", "num_merges", "byte_fallback", "config_added_tokens")


def tokenizer_json_facts(data: bytes, config_data: bytes | None):
    """The child's side: :func:`from_tokenizer_json` (+ :func:`apply_tokenizer_config`), then only the small facts
    (counts, added and special tokens), which cross the pipe. ("error", message, file) for a CkptError."""
    try:
        info = from_tokenizer_json(data, "tokenizer.json")
        if config_data is not None:
            apply_tokenizer_config(info, config_data)
    except CkptError as e:
        return ("error", e.message, e.file)
    return ("ok", {k: getattr(info, k) for k in _FACT_FIELDS}, info.tokens is not None, info.merges is not None)


def from_facts(result, data: bytes) -> TokenizerInfo:
    """The parent's side: a TokenizerInfo from :func:`tokenizer_json_facts`' answer. The token and merge lists
    (wanted by few commands) are rebuilt from ``data`` on first use; a CkptError is raised as the reader would."""
    if not isinstance(result, tuple) or not result or result[0] not in ("ok", "error"):
        raise RuntimeError(f"tokenizer.json reader in the background gave {str(result)[:80]!r}")
    if result[0] == "error":
        raise CkptError(result[1], result[2])
    _, facts, has_tokens, has_merges = result
    info = TokenizerInfo(**facts)
    full: list = []

    def reparse():
        if not full:
            full.append(from_tokenizer_json(data, "tokenizer.json"))
        return full[0]

    if has_tokens:
        info.tokens = _LazyReparsed(lambda: reparse().tokens, info.max_id + 1)  # type: ignore[assignment]
    if has_merges:
        info.merges = _LazyReparsed(lambda: reparse().merges, info.num_merges or 0)  # type: ignore[assignment]
    return info


class _LazyReparsed(Sequence):
    """A sequence fetched from a function on first use (its length known before)."""

    def __init__(self, get, n: int) -> None:
        self._fn, self._n, self._seq = get, n, None

    def _get(self):
        if self._seq is None:
            self._seq, self._fn = self._fn(), None
        return self._seq

    def __len__(self) -> int:
        return self._n if self._seq is None else len(self._seq)

    def __getitem__(self, i):
        return self._get()[i]

    def __iter__(self):
        return iter(self._get())
