"""A local folder or a single .safetensors file."""

from __future__ import annotations

import os

from ..errors import SourceError
from ..readers.safetensors import HeaderInfo, parse_header, read_header_bytes
from .base import Source

IGNORED_DIRS = {".git", ".cache", "__pycache__", ".huggingface"}


class LocalSource(Source):
    kind = "local"

    def __init__(self, path: str) -> None:
        super().__init__()
        path = os.path.abspath(path)
        self.display = path
        self._single: str | None = None
        if os.path.isfile(path):
            self.root = os.path.dirname(path)
            self._single = os.path.basename(path)
        elif os.path.isdir(path):
            self.root = path
        else:
            raise SourceError("no such file or folder", path)
        self._files: dict[str, int | None] | None = None

    def weights_only_file(self) -> str | None:
        return self._single

    def list_files(self) -> dict[str, int | None]:
        if self._files is None:
            files: dict[str, int | None] = {}
            for dirpath, dirnames, filenames in os.walk(self.root):
                dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_DIRS)
                rel = os.path.relpath(dirpath, self.root)
                depth = 0 if rel == "." else rel.count(os.sep) + 1
                if depth >= 3:
                    dirnames[:] = []
                for fn in sorted(filenames):
                    p = os.path.join(dirpath, fn)
                    key = fn if rel == "." else f"{rel.replace(os.sep, '/')}/{fn}"
                    try:
                        files[key] = os.path.getsize(p)
                    except OSError:
                        files[key] = None
            self._files = files
        return self._files

    def _path(self, rel: str) -> str:
        if os.path.isabs(rel) or ".." in rel.replace("\\", "/").split("/"):
            raise SourceError("path escapes the checkpoint folder", rel)
        return os.path.join(self.root, *rel.split("/"))

    def read_file(self, path: str) -> bytes:
        full = self._path(path)
        try:
            with open(full, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise SourceError("file not found", full) from None
        except OSError as e:
            raise SourceError(f"cannot read ({e.strerror or e})", full) from None
        self.stats.requests += 1
        self.stats.bytes += len(data)
        return data

    def file_kind(self, rel: str) -> str | None:
        """What the file is, from its first bytes (readers.detect)."""
        from ..readers.detect import detect_file

        try:
            return detect_file(self._path(rel))
        except OSError:
            return None

    def gguf_raw_header(self, rel: str, n: int) -> bytes:
        with open(self._path(rel), "rb") as f:
            return f.read(n)

    def read_gguf(self, paths: list[str]):
        from ..readers.gguf import read_gguf

        out = []
        for rel in paths:
            full = self._path(rel)
            if not os.path.exists(full):
                raise SourceError("GGUF file not found", full)
            info = read_gguf(full, display=rel)
            self.stats.requests += 1
            self.stats.bytes += info.header_bytes
            out.append(info)
        return out

    def read_headers(self, paths: list[str], strict: bool = True) -> list[HeaderInfo]:
        out = []
        for rel in paths:
            full = self._path(rel)
            try:
                data, size = read_header_bytes(full, rel)
            except FileNotFoundError:
                raise SourceError("shard file not found", full) from None
            except OSError as e:
                raise SourceError(f"cannot read ({e.strerror or e})", full) from None
            self.stats.requests += 2
            self.stats.bytes += len(data)
            out.append(parse_header(data, rel, size, strict=strict))
        return out
