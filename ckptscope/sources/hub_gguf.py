"""GGUF on the Hub: ``ORG/NAME:Q4_K_M`` selectors, and GGUF headers read by HTTP range requests.

``split_selector(spec)`` takes the quant tag (llama.cpp's ``-hf ORG/NAME:TAG``, Ollama's ``hf.co/ORG/NAME:TAG``,
case-insensitive), a file path (``ORG/NAME/sub/file.gguf``) or a ``resolve``/``blob`` URL apart from the repo
spec. ``read_gguf_headers(hub_source, paths)`` parses each file's header while it downloads: the read starts at
``FIRST_READ`` bytes and grows by at least ``CHUNK`` or ``GROWTH`` of what was read until the tensor-info block
ends, so a header of H bytes costs at most about 1.1 H + 1 MB. Requests go through huggingface_hub's session,
token and endpoint (``HubSource._range``).
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

FIRST_READ = 1 << 20
CHUNK = 1 << 20
GROWTH = 0.10
JUMP = 64 << 20  #: a numeric array longer than this is skipped, not downloaded

_TAG = re.compile(r"^(?P<repo>[^:]+):(?P<tag>[A-Za-z0-9_.\-]+)$")


def split_selector(spec: str) -> tuple[str, str | None]:
    """(repo spec, GGUF selector or None)."""
    s = spec.strip()
    if "://" in s or s.startswith(("huggingface.co/", "hf.co/", "www.huggingface.co/")):
        u = urlsplit(s if "://" in s else "https://" + s)
        parts = [unquote(p) for p in u.path.split("/") if p]
        if parts and parts[0] == "models":
            parts = parts[1:]
        if len(parts) >= 5 and parts[2] in ("resolve", "blob") and parts[-1].lower().endswith(".gguf"):
            base = f"{u.scheme}://{u.netloc}/{parts[0]}/{parts[1]}/tree/{parts[3]}"
            return base, "/".join(parts[4:])
        if len(parts) == 2 and ":" in parts[1]:  # hf.co/ORG/NAME:TAG (Ollama)
            name, tag = parts[1].split(":", 1)
            return f"{parts[0]}/{name}", tag
        return s, None
    m = _TAG.match(s)
    if m and "/" in m.group("repo"):
        return m.group("repo"), m.group("tag")
    parts = s.split("/")
    if len(parts) >= 3 and parts[-1].lower().endswith(".gguf"):
        repo = "/".join(parts[:2])
        return repo, "/".join(parts[2:])
    return s, None


class RangeReader:
    """A file-like view of a remote file that fetches ranges as the parser reads (``read``/``skip``)."""

    def __init__(self, fetch, size: int | None, first: int = FIRST_READ):
        self.fetch, self.size, self.first = fetch, size, first
        self.buf = bytearray()
        self.start = 0  #: file offset of buf[0]
        self.pos = 0
        self.fetched = 0
        self.holes = False  #: some bytes were skipped, not downloaded (buf is then not the whole header)

    def _end(self) -> int:
        return self.start + len(self.buf)

    def _ensure(self, end: int) -> None:
        while self._end() < end:
            have = self._end()
            want = max(end - have, CHUNK if self.fetched else self.first, int(self.fetched * GROWTH))
            if self.size is not None:
                want = min(want, self.size - have)
            if want <= 0:
                return
            data = self.fetch(have, have + want)
            if not data:
                return
            self.fetched += len(data)
            self.buf += data

    def read(self, n: int) -> bytes:
        self._ensure(self.pos + n)
        i = self.pos - self.start
        out = bytes(self.buf[i:i + n])
        self.pos += len(out)
        return out

    def skip(self, n: int) -> None:
        if n > JUMP and self.pos + n > self._end():
            self.holes = True
            self.pos += n
            self.buf = bytearray()
            self.start = self.pos
            return
        self._ensure(self.pos + n)
        self.pos += n

    def seekable(self) -> bool:
        return False

    def header_bytes(self, end: int) -> bytes | None:
        """The first ``end`` bytes as read (None when there are holes)."""
        if self.holes or self.start != 0:
            return None
        return bytes(self.buf[:end])


def read_gguf_headers(src, paths: list[str]) -> list:
    """Parse the GGUF header of each path of a HubSource with ranged reads (see the module docstring)."""
    from huggingface_hub import hf_hub_url

    from ..readers.gguf import parse_gguf

    out = []
    raw = getattr(src, "_gguf_raw", None)
    if raw is None:
        raw = src._gguf_raw = {}
    for p in paths:
        size = src.list_files().get(p)
        if p not in src.list_files():
            from ..errors import SourceError

            raise SourceError("GGUF file not found in the repo", f"{src.repo_id}/{p}")
        url = hf_hub_url(src.repo_id, p, revision=src.revision, endpoint=src.env.endpoint)
        rr = RangeReader(lambda a, b, url=url, p=p, size=size: src._range(url, p, a, b, size), size)
        before = src.stats.bytes
        info = parse_gguf(rr, p, size)
        got = src.stats.bytes - before
        hb = rr.header_bytes(info.data_offset if info.tensors else info.header_bytes)
        if hb is not None:
            raw[p] = hb
        with src._lock:
            src.header_bytes += info.header_bytes
            src.gguf_downloaded = getattr(src, "gguf_downloaded", 0) + got
        out.append(info)
    src.header_method = "ranged"
    return out


def raw_header(src, path: str, n: int) -> bytes:
    """The header bytes a HubSource read for ``path`` (for snapshots)."""
    from ..errors import SourceError

    raw = (getattr(src, "_gguf_raw", None) or {}).get(path)
    if raw is None or len(raw) < n:
        raise SourceError("the GGUF header was not read whole (skipped arrays): no snapshot of it", path)
    return raw[:n]
