"""Snapshot files: everything inspect needs from a checkpoint, in one small compressed file.

A snapshot is gzip-compressed JSON (or plain JSON when the name ends in ``.json``) with ``"format":
"ckptscope-snapshot"`` and a format ``version``. It holds the file list with sizes, the small config files whole
(config.json, generation_config.json, the index, tokenizer_config.json ...), a tokenizer summary (sizes, added and
special tokens, and the byte totals of tokens and merges that GGUF estimates need) and every safetensors header as
its JSON object (``__metadata__`` + one line per tensor, in file order), with its exact length and the file size.
Where and when it was taken, and how (``provenance``), travel with it.

Writing is deterministic: same checkpoint, same bytes (sorted keys, gzip without a timestamp), so two snapshots can
be committed and diffed (``zdiff a.ckpt.gz b.ckpt.gz``, or write ``.json`` for a plain-text one).
"""

from __future__ import annotations

import datetime as _dt
import gzip
import json
import os
import struct
import zlib

from ..errors import CkptError, HeaderError, SourceError
from ..readers.safetensors import HeaderInfo, Problem, parse_header, validate_header
from ..readers.tokenizer import TokenizerInfo
from .base import Source

FORMAT = "ckptscope-snapshot"
VERSION = 1
MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024  #: never inflate more than this from an untrusted file
#: files kept whole in a snapshot (the index files too): what the loader and the later stages read
TEXT_FILES = ("config.json", "generation_config.json", "tokenizer_config.json", "special_tokens_map.json",
              "added_tokens.json", "preprocessor_config.json", "processor_config.json", "chat_template.json",
              "params.json", "quantize_config.json", "quant_config.json")
MAX_TEXT_FILE = 64 * 1024 * 1024
TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "merges.txt", "vocab.txt", "tokenizer.model")


def is_text_file(name: str) -> bool:
    return "/" not in name and (name in TEXT_FILES or name.endswith(".safetensors.index.json"))


# ------------------------------------------------------------------------------------------------ headers <-> JSON

def header_object(h: HeaderInfo) -> dict:
    """A header as the JSON object a safetensors file holds (tensors in file order)."""
    obj: dict = {}
    if h.metadata:
        obj["__metadata__"] = dict(sorted(h.metadata.items()))
    for t in sorted(h.tensors, key=lambda t: (t.start, t.end, t.name)):
        obj[t.name] = {"dtype": t.dtype, "shape": list(t.shape), "data_offsets": [t.start, t.end]}
    return obj


def header_from_object(obj: dict, file: str, file_size: int | None, header_len: int | None,
                       strict: bool = True) -> HeaderInfo:
    """Validate a header given as a JSON object (a snapshot, the Hub's sharded-metadata endpoint) exactly as if it
    had been read from the file: same checks, same problems. ``header_len`` is the length in the real file."""
    if not isinstance(obj, dict):
        raise HeaderError("header is not a JSON object", file)
    if header_len is not None and header_len >= 2 and (file_size is None or 8 + header_len <= file_size):
        return validate_header(dict(obj), file, file_size, header_len, strict=strict)
    raw = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    info = parse_header(struct.pack("<Q", len(raw)) + raw, file, None, strict=strict)
    if header_len is not None:
        info.header_len = header_len
    info.file_size = file_size
    if file_size is not None and header_len is not None:
        data = file_size - 8 - header_len
        end = max((t.end for t in info.tensors), default=0)
        if end != data:
            msg = (f"data region is {data:,} bytes but tensors cover {end:,}" if end < data else
                   f"data_offsets end {end:,} past the {data:,}-byte data region (file truncated?)")
            if strict:
                raise HeaderError(msg, file)
            info.problems.append(Problem("ST010" if end < data else "ST008", file, msg))
    return info


def header_len_from_size(obj: dict, file_size: int | None) -> int | None:
    """The header length a file of ``file_size`` bytes must have, if its tensors tile the data region."""
    if file_size is None or not isinstance(obj, dict):
        return None
    end = 0
    for k, v in obj.items():
        if k != "__metadata__" and isinstance(v, dict):
            offs = v.get("data_offsets")
            if type(offs) is list and len(offs) == 2 and type(offs[1]) is int and type(offs[0]) is int:
                if offs[1] > end:
                    end = offs[1]
    n = file_size - 8 - end
    return n if n >= 2 else None


# ------------------------------------------------------------------------------------------------ tokenizer summary

def tokenizer_summary(info: TokenizerInfo) -> dict:
    d = {
        "source": info.source,
        "model_type": info.model_type,
        "base_vocab_size": info.base_vocab_size,
        "vocab_size": info.vocab_size,
        "max_id": info.max_id,
        "added_tokens": [{"id": a["id"], "content": a["content"], "special": bool(a.get("special"))}
                         for a in sorted(info.added_tokens, key=lambda a: a["id"])],
        "special_tokens": dict(sorted(info.special_tokens.items())),
        "special_token_ids": dict(sorted(info.special_token_ids.items())),
        "num_merges": info.num_merges,
        "byte_fallback": info.byte_fallback,
        "config_added_tokens": {str(k): v for k, v in sorted(info.config_added_tokens.items())},
    }
    toks = info.tokens if info.tokens is not None else getattr(info, "tokens_summary", None)
    if info.tokens is not None:
        d["tokens"] = {"count": len(info.tokens), "bytes": sum(len(t.encode("utf-8")) for t in info.tokens)}
    elif isinstance(toks, dict):
        d["tokens"] = toks
    if info.merges is not None:
        d["merges"] = {"count": len(info.merges), "bytes": sum(len(m.encode("utf-8")) for m in info.merges)}
    elif isinstance(getattr(info, "merges_summary", None), dict):
        d["merges"] = info.merges_summary  # type: ignore[attr-defined]
    return d


def tokenizer_from_summary(d: dict) -> TokenizerInfo:
    """A TokenizerInfo without the token and merge lists: ``tokens_summary`` / ``merges_summary`` give their
    count and UTF-8 byte total (what GGUF metadata estimates need)."""
    try:
        info = TokenizerInfo(
            source=str(d.get("source") or "tokenizer"), model_type=d.get("model_type"),
            base_vocab_size=int(d.get("base_vocab_size") or 0),
            added_tokens=[{"id": int(a["id"]), "content": str(a.get("content", "")), "special": bool(a.get("special"))}
                          for a in d.get("added_tokens") or []],
            vocab_size=int(d.get("vocab_size") or 0), max_id=int(d.get("max_id", -1)),
            special_tokens={str(k): str(v) for k, v in (d.get("special_tokens") or {}).items()},
            special_token_ids={str(k): int(v) for k, v in (d.get("special_token_ids") or {}).items()},
            num_merges=d.get("num_merges"), byte_fallback=bool(d.get("byte_fallback")),
            config_added_tokens={int(k): str(v) for k, v in (d.get("config_added_tokens") or {}).items()},
        )
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        raise CkptError(f"tokenizer summary is malformed ({e})", "snapshot") from None
    info.tokens_summary = d.get("tokens")  # type: ignore[attr-defined]
    info.merges_summary = d.get("merges")  # type: ignore[attr-defined]
    return info


# ------------------------------------------------------------------------------------------------ build / write

def _now() -> str:
    """UTC now, or SOURCE_DATE_EPOCH when set (reproducible snapshots)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    t = (_dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc) if epoch and epoch.isdigit()
         else _dt.datetime.now(_dt.timezone.utc))
    return t.replace(microsecond=0).isoformat()


def build(*, source: dict, files: dict, text_files: dict[str, bytes], headers: list[HeaderInfo],
          tokenizer: TokenizerInfo | None, provenance: dict | None = None, created: str | None = None,
          raw_headers: dict[str, bytes | dict] | None = None,
          gguf_headers: dict[str, tuple[bytes, int | None]] | None = None) -> dict:
    """The snapshot as a dict. ``source``: kind/name/revision/endpoint of where it was read.

    ``raw_headers`` (file -> the JSON header bytes as read, or the object as decoded) stores headers verbatim:
    fast to write and read, for ckptscope's own cache; snapshots meant for people are rebuilt from the parsed
    tensors, one object per tensor in file order (diffable)."""
    hdrs = {}
    for h in headers:
        ent: dict = {"header_len": h.header_len, "file_size": h.file_size}
        raw = (raw_headers or {}).get(h.file)
        if isinstance(raw, bytes):
            ent["header_text"] = raw.decode("utf-8")
        elif isinstance(raw, dict):  # the header object exactly as a source decoded it
            ent["header"] = raw
        else:
            ent["header"] = header_object(h)
        if h.problems:
            ent["problems"] = [[p.code, p.message, p.tensor] for p in h.problems]
        hdrs[h.file] = ent
    texts = {}
    for name, data in sorted(text_files.items()):
        try:
            texts[name] = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
    out = {
        "format": FORMAT,
        "version": VERSION,
        "created": created or _now(),
        "source": source,
        "provenance": provenance or {"kind": "read", "note": "read from the source named above"},
        "files": {k: files[k] for k in sorted(files)},
        "text_files": texts,
        "tokenizer": tokenizer_summary(tokenizer) if tokenizer is not None else None,
        "headers": {k: hdrs[k] for k in sorted(hdrs)},
    }
    if gguf_headers:  # GGUF headers verbatim (magic .. data section start), re-validated when read back
        import base64

        out["gguf_headers"] = {k: {"file_size": size, "header_bytes": len(raw),
                                   "header_b64": base64.b64encode(raw).decode("ascii")}
                               for k, (raw, size) in sorted(gguf_headers.items())}
    return out


def _gguf_headers(ck) -> dict[str, tuple[bytes, int | None]] | None:
    """The raw header bytes of every GGUF file the checkpoint read (through the source's ``gguf_raw_header``)."""
    if getattr(ck, "gguf", None) is None:
        return None
    get = getattr(ck.source, "gguf_raw_header", None)
    if get is None:
        raise CkptError(f"this source ({ck.source.kind}) cannot give back the GGUF header bytes for a snapshot")
    out = {}
    for p in ck.gguf.parts:
        n = p.data_offset if p.tensors else p.header_bytes
        out[p.file] = (get(p.file, n), p.file_size)
    return out


def from_checkpoint(ck, provenance: dict | None = None, created: str | None = None) -> dict:
    src = ck.source
    texts = {}
    for name in sorted(ck.files):
        if is_text_file(name) and (ck.files[name] or 0) <= MAX_TEXT_FILE:
            texts[name] = src.read_file(name)
    from ..kinds import snapshot_files

    for name in snapshot_files(ck):  # a repo kind's own metadata (model_index.json, modules' configs...)
        if name not in texts and (ck.files.get(name) or 0) <= MAX_TEXT_FILE:
            texts[name] = src.read_file(name)
    module_headers = [h for h in getattr(ck, "module_headers", []) if h.header_len]  # safetensors ones
    desc = {k: v for k, v in src.describe().items() if k not in ("requests", "bytes_read")}
    if src.kind == "local":
        desc["name"] = os.path.basename(desc.get("name") or "") or desc.get("name")
    if provenance is None and isinstance(getattr(src, "provenance", None), dict) and src.provenance:
        from ..provenance import CATALOG_LABEL, label

        provenance = dict(src.provenance)  # a snapshot of a snapshot (or of the catalog) keeps where it came from
        if label(src):
            provenance.update(catalog=True, kind="reconstructed",
                              note=f"{CATALOG_LABEL}; {src.provenance.get('note') or ''}".rstrip("; "))
    gg = _gguf_headers(ck)
    files = ck.files
    if gg is not None:  # a GGUF file's folder may hold anything: keep the files read and the small ones kept
        files = {k: v for k, v in ck.files.items() if k in gg or k in texts}
    return build(source=desc, files=files, text_files=texts, headers=ck.headers + module_headers,
                 tokenizer=None if gg is not None else ck.tokenizer,
                 provenance=provenance, created=created, gguf_headers=gg)


def dumps(snap: dict, compress: bool = True, level: int = 9, pretty: bool = True) -> bytes:
    """Deterministic bytes: sorted keys, one tensor per line, gzip without name or timestamp.
    ``pretty=False``: compact JSON, fast (ckptscope's own cache)."""
    text = (_render(snap) if pretty else json.dumps(snap, separators=(",", ":"), ensure_ascii=False)).encode("utf-8")
    if not compress:
        return text
    return gzip.compress(text, compresslevel=level, mtime=0)


def _render(snap: dict) -> str:
    """Pretty JSON where every tensor entry of a header is one line (readable diffs, small files)."""
    headers = snap.get("headers") or {}
    first = {k: snap[k] for k in ("format", "version") if k in snap}
    rest = {k: _sorted(v) for k, v in sorted(snap.items()) if k not in first and k != "headers"}
    body = json.dumps({**first, **rest}, indent=1, ensure_ascii=False)  # format first: sniffable
    parts = []
    for fname in sorted(headers):
        ent = headers[fname]
        hdr = ent.get("header") or {}
        lines = []
        for k, v in hdr.items():
            lines.append(f"   {json.dumps(k, ensure_ascii=False)}: {json.dumps(v, sort_keys=True, ensure_ascii=False)}")
        rest = {k: v for k, v in ent.items() if k != "header"}
        rest_s = "".join(f"\n  {json.dumps(k)}: {json.dumps(v, sort_keys=True, ensure_ascii=False)}," for k, v in sorted(rest.items()))
        parts.append(f" {json.dumps(fname, ensure_ascii=False)}: {{{rest_s}\n  \"header\": {{\n" + ",\n".join(lines) + "\n  }\n }")
    hdr_s = '"headers": {\n' + ",\n".join(parts) + "\n}" if parts else '"headers": {}'
    assert body.endswith("\n}")
    return body[:-2] + ",\n" + hdr_s + "\n}\n"


def _sorted(v):
    if isinstance(v, dict):
        return {k: _sorted(v[k]) for k in sorted(v)}
    if isinstance(v, list):
        return [_sorted(x) for x in v]
    return v


def write(snap: dict, path: str, level: int = 9, pretty: bool = True) -> int:
    data = dumps(snap, compress=not path.endswith(".json"), level=level, pretty=pretty)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return len(data)


# ------------------------------------------------------------------------------------------------ read

def _read_upto(path: str, limit: int) -> bytes:
    """At most ``limit`` bytes of the file's content, gunzipped when it is gzip (bounded however it inflates)."""
    from ..limits import open_regular

    f, _size = open_regular(path)  # a FIFO or device named like a snapshot is refused, never blocked on
    with f:
        head = f.read(2)
        f.seek(0)
        if head == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=f) as g:
                return g.read(limit)
        return f.read(limit)


def _read_bytes(path: str) -> bytes:
    try:
        data = _read_upto(path, MAX_SNAPSHOT_BYTES + 1)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise SourceError(f"cannot read snapshot ({e})", path) from None
    if len(data) > MAX_SNAPSHOT_BYTES:
        raise SourceError(f"snapshot inflates past {MAX_SNAPSHOT_BYTES:,} bytes", path)
    return data


def is_snapshot_file(path: str) -> bool:
    """Whether ``path`` is a snapshot (by content: gzip or JSON whose ``format`` is ours)."""
    try:
        start = _read_upto(path, 4096)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error, SourceError):
        return False
    return start.lstrip()[:1] == b"{" and (f'"format": "{FORMAT}"'.encode() in start
                                           or f'"format":"{FORMAT}"'.encode() in start)


def load(path: str) -> dict:
    data = _read_bytes(path)
    try:
        snap = json.loads(data)
    except (ValueError, RecursionError) as e:
        raise SourceError(f"snapshot is not valid JSON ({str(e).split(':')[0]})", path) from None
    if not isinstance(snap, dict) or snap.get("format") != FORMAT:
        raise SourceError("not a ckptscope snapshot", path)
    if snap.get("version") != VERSION:
        raise SourceError(f"snapshot format version {snap.get('version')!r} is not supported (this ckptscope "
                          f"reads version {VERSION})", path)
    for key, typ in (("files", dict), ("text_files", dict), ("headers", dict)):
        if not isinstance(snap.get(key), typ):
            raise SourceError(f"snapshot field {key!r} is missing or malformed", path)
    return snap


class SnapshotSource(Source):
    """A checkpoint read back from a snapshot file: no network, no weights, same numbers."""

    kind = "snapshot"

    def __init__(self, path: str, snap: dict | None = None) -> None:
        super().__init__()
        self.path = path
        self.snap = snap if snap is not None else load(path)
        src = self.snap.get("source") or {}
        self.origin = src
        self.display = str(src.get("name") or os.path.basename(path))
        self.revision = src.get("revision")
        prov = self.snap.get("provenance") or {}
        self.provenance = prov
        when = self.snap.get("created", "?")
        if self.kind == "snapshot":
            self.notes.append(f"read from snapshot {os.path.basename(path)} (taken {when} from "
                              f"{src.get('kind', '?')} {self.display}" +
                              (f" @ {str(self.revision)[:12]}" if self.revision else "") + ")")
            if prov.get("catalog"):
                self.notes.append("every number in this snapshot is reconstructed from the catalog, not read "
                                  "from the Hub")
            elif prov.get("kind") == "reconstructed":
                self.notes.append("the headers in this snapshot are RECONSTRUCTED, not read from the real files: "
                                  + str(prov.get("note") or prov.get("method") or ""))

    def list_files(self) -> dict[str, int | None]:
        return {str(k): (v if isinstance(v, int) else None) for k, v in self.snap["files"].items()}

    def read_file(self, path: str) -> bytes:
        t = self.snap["text_files"].get(path)
        if isinstance(t, str):
            self.stats.requests += 1
            self.stats.bytes += len(t)
            return t.encode("utf-8")
        if path in TOKENIZER_FILES:
            raise SourceError("not in the snapshot (only a tokenizer summary is kept)", path)
        raise SourceError("not in the snapshot", path)

    def tokenizer_info(self) -> TokenizerInfo | None:
        """The tokenizer summary (checkpoint loading uses it instead of the tokenizer files)."""
        d = self.snap.get("tokenizer")
        return tokenizer_from_summary(d) if isinstance(d, dict) else None

    def read_headers(self, paths: list[str], strict: bool = True) -> list[HeaderInfo]:
        out = []
        for p in paths:
            ent = self.snap["headers"].get(p)
            if not isinstance(ent, dict):
                raise SourceError("no header for this file in the snapshot", p)
            n, size = ent.get("header_len"), ent.get("file_size")
            if not (isinstance(n, int) and (size is None or isinstance(size, int))):
                raise SourceError("snapshot header entry malformed (header_len/file_size)", p)
            text = ent.get("header_text")
            if isinstance(text, str):  # ckptscope's own header cache keeps the header bytes verbatim
                raw = text.encode("utf-8")
                info = parse_header(struct.pack("<Q", len(raw)) + raw, p, size, strict=strict)
            else:
                info = header_from_object(ent.get("header"), p, size, n, strict=strict)
            for prob in ent.get("problems") or []:
                if isinstance(prob, list) and len(prob) == 3:
                    if strict:
                        raise HeaderError(str(prob[1]), p)
                    info.problems.append(Problem(str(prob[0]), p, str(prob[1]), prob[2]))
            self.stats.requests += 1
            out.append(info)
        return out

    @property
    def gguf_stored(self) -> set[str]:
        g = self.snap.get("gguf_headers")
        return set(g) if isinstance(g, dict) else set()

    def _gguf_entry(self, p: str) -> tuple[bytes, int | None]:
        import base64
        import binascii

        ent = (self.snap.get("gguf_headers") or {}).get(p)
        if not isinstance(ent, dict) or not isinstance(ent.get("header_b64"), str):
            raise SourceError("no GGUF header for this file in the snapshot", p)
        size = ent.get("file_size")
        try:
            raw = base64.b64decode(ent["header_b64"], validate=True)
        except (binascii.Error, ValueError):
            raise SourceError("snapshot GGUF header is not valid base64", p) from None
        return raw, size if isinstance(size, int) and not isinstance(size, bool) else None

    def gguf_raw_header(self, p: str, n: int) -> bytes:
        return self._gguf_entry(p)[0][:n]

    def read_gguf(self, paths: list[str]):
        from ..readers.gguf import parse_gguf

        out = []
        for p in paths:
            raw, size = self._gguf_entry(p)
            self.stats.requests += 1
            self.stats.bytes += len(raw)
            out.append(parse_gguf(raw, p, size))
        return out

    def describe(self) -> dict:
        d = super().describe()
        d["snapshot"] = self.path
        d["origin"] = self.origin
        d["created"] = self.snap.get("created")
        d["provenance"] = self.provenance
        from ..provenance import label

        if label(d):
            d["provenance_label"] = label(d)
        return d
