"""Tokenizer vs embedding (TK001: an id with no row is an error; padding rows are fine, TK006), special token
ids in range (TK002), special tokens missing from the vocabulary (TK003), and tokenizer.json vs
tokenizer_config.json added tokens (TK004 different content for one id, TK005 present in only one)."""

from __future__ import annotations

from .config import embedding_rows

ID_KEYS = ("bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id", "sep_token_id",
           "unk_token_id", "mask_token_id")


def _rows(ck) -> tuple[int, str] | None:
    """How many ids the model can embed: the embedding's rows, else config vocab_size."""
    emb = embedding_rows(ck) if ck.tensors else None
    if emb:
        return emb[1], f"{emb[0]} has {emb[1]:,} rows"
    if ck.config is not None and ck.config.vocab_size:
        return ck.config.vocab_size, f"config vocab_size is {ck.config.vocab_size:,}"
    return None


def _ids(v) -> list[int]:
    if isinstance(v, bool):
        return []
    if isinstance(v, int):
        return [v]
    if isinstance(v, list):
        return [x for x in v if isinstance(x, int) and not isinstance(x, bool)]
    return []


def run(ctx) -> None:
    ck = ctx.ck
    tok = ck.tokenizer
    rows = _rows(ck)

    # TK001 / TK006: every id the tokenizer can produce needs an embedding row.
    if tok is not None and rows is not None and tok.max_id >= 0:
        n = tok.max_id + 1
        status = "broken" if n > rows[0] else "padded" if n < rows[0] else "ok"
        message = None
        api = _tokenizer_check() if status == "padded" else None  # only TK006 uses its wording
        if api is not None and ck.config is not None:
            try:  # the architecture helper words it better (rounding, embedding share) when it agrees
                from .summary import summary_of

                res = api(ck.config, tok, ck.tensors, weights=summary_of(ck)["parameters"]["main"])
            except Exception:  # noqa: BLE001
                res = None
            if isinstance(res, dict) and res.get("status") == status:
                message = res.get("message")
        if status == "broken":
            over = [a for a in tok.added_tokens if a["id"] >= rows[0]]
            ex = f" (e.g. {over[0]['content']!r} = {over[0]['id']})" if over else ""
            ctx.add("TK001", f"the tokenizer has ids up to {tok.max_id:,} but {rows[1]}{ex}: {n - rows[0]:,} "
                             f"token{'s' if n - rows[0] != 1 else ''} with no embedding row", tok.source)
        elif status == "padded":
            ctx.add("TK006", message or f"{rows[1]}; the tokenizer uses {tok.max_id + 1:,} (padding rows)",
                    tok.source)

    # TK002: special token ids of config.json / generation_config.json within the embedding.
    if rows is not None:
        for file, d in (("config.json", ck.config.full if ck.config else None),
                        ("generation_config.json", ck.generation_config)):
            if not isinstance(d, dict):
                continue
            srcs = [d] + ([ck.config.raw] if file == "config.json" and ck.config.raw is not d else [])
            for src in srcs:
                for key in ID_KEYS:
                    for i in _ids(src.get(key)):
                        if i >= rows[0]:
                            ctx.add("TK002", f"{key} = {i:,} but {rows[1]}", file, None)

    if tok is None:
        return
    # TK003: special tokens named in tokenizer_config.json that are not in the vocabulary.
    for key, content in tok.special_tokens.items():
        if key not in tok.special_token_ids:
            ctx.add("TK003", f"{key} {content!r} is not in the vocabulary of {tok.source}", "tokenizer_config.json")

    # TK004 / TK005: tokenizer.json added_tokens vs tokenizer_config.json added_tokens_decoder.
    if tok.source.endswith("tokenizer.json") and tok.config_added_tokens:
        fast = {a["id"]: a["content"] for a in tok.added_tokens}
        toks = tok.tokens or []
        for i, content in sorted(tok.config_added_tokens.items()):
            other = fast.get(i, toks[i] if 0 <= i < len(toks) and toks[i] != "" else None)
            if other is None:
                ctx.add("TK005", f"added token {i} {content!r} is in tokenizer_config.json but not in tokenizer.json",
                        "tokenizer_config.json")
            elif other != content:
                ctx.add("TK004", f"token {i} is {other!r} in tokenizer.json but {content!r} in tokenizer_config.json",
                        "tokenizer_config.json")
        for i, content in sorted(fast.items()):
            if i not in tok.config_added_tokens:
                ctx.add("TK005", f"added token {i} {content!r} is in tokenizer.json but not in "
                                 "tokenizer_config.json's added_tokens_decoder", "tokenizer.json")


def _tokenizer_check():
    try:
        from ..analysis.arch import tokenizer_check
    except ImportError:
        return None
    return tokenizer_check
