"""A local folder or a single .safetensors file."""

from __future__ import annotations

import os

from ..errors import SourceError
from ..limits import escapes, read_bounded
from ..readers.safetensors import HeaderInfo, parse_header, read_header_bytes
from .base import Source

IGNORED_DIRS = {".git", ".cache", "__pycache__", ".huggingface"}
#: beside a single .safetensors file, only these files of its folder are read (and listed)
SINGLE_FILE_CONTEXT = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                       "special_tokens_map.json", "added_tokens.json", "vocab.json", "merges.txt", "vocab.txt")


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
        #: files must resolve inside this folder (``confine`` on: check refuses symlinks leaving the checkout)
        self.confine_root = self.root
        self.confine = False

    def weights_only_file(self) -> str | None:
        return self._single

    def list_files(self) -> dict[str, int | None]:
        if self._files is None and self._single is not None:
            # A single file means that file, plus the config and tokenizer files of the model beside it.
            files = {}
            import re

            split = re.match(r"^(.*)-\d{5}-of-(\d{5})\.gguf$", self._single)
            siblings = []
            if split:  # a GGUF split set is one model: its other parts are "that file" too
                pat = re.compile(re.escape(split.group(1)) + r"-\d{5}-of-" + split.group(2) + r"\.gguf$")
                siblings = sorted(n for n in os.listdir(self.root) if pat.match(n))
            for fn in (self._single, *siblings, *SINGLE_FILE_CONTEXT):
                p = os.path.join(self.root, fn)
                if fn not in files and os.path.lexists(p):
                    try:
                        files[fn] = os.path.getsize(p)
                    except OSError:
                        files[fn] = None
            self._files = files
        if self._files is None:
            try:
                os.listdir(self.root)
            except OSError as e:
                raise SourceError(f"cannot read the folder ({e.strerror or e})", self.root) from None
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
        full = os.path.join(self.root, *rel.split("/"))
        if self.confine and os.path.lexists(full) and escapes(full, self.confine_root):
            raise SourceError(f"is a symlink to {os.path.realpath(full)}, outside the checkout; refused", full)
        return full

    def read_file(self, path: str) -> bytes:
        full = self._path(path)
        data = read_bounded(full, full)
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
        from ..limits import open_regular

        f, _ = open_regular(self._path(rel), rel)
        with f:
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
