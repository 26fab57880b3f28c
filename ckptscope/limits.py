"""Caps and bounded, typed reads: the one way ckptscope reads a metadata file from disk.

Every small file (config.json, tokenizer files, generation config, the sharded index, snapshot and adapter /
sentence-transformers JSON) goes through :func:`read_bounded`:

- only a regular file is opened: FIFOs, character/block devices, sockets and directories are refused from their
  ``stat`` alone (a FIFO is never opened in a blocking way: ``O_NONBLOCK``, then ``fstat`` on the open descriptor,
  so a file swapped for a FIFO between the two is refused too);
- the file's size is held against the cap of its kind before anything is read, and at most ``cap + 1`` bytes are
  ever read (a file that grows while it is read, or a symlink to ``/dev/urandom``, cannot fill memory);
- :func:`escapes` says whether a path (symlinks resolved) leaves a folder, for ``check``'s confinement rule.

Caps are generous for every real model (the largest real ``tokenizer.json`` files are ~35 MB, the largest real
index ~10 MB) and small enough that parsing the JSON stays well inside a 2 GB address space.
"""

from __future__ import annotations

import os
import stat

from .errors import SourceError

MiB = 1 << 20

#: the stated size cap per kind of metadata file, in bytes
CAPS: dict[str, int] = {
    "config": 8 * MiB,  # config.json, generation_config.json, preprocessor/processor configs
    "tokenizer": 64 * MiB,  # tokenizer.json, vocab.json, merges.txt, vocab.txt, tokenizer_config.json, ...
    "index": 64 * MiB,  # *.safetensors.index.json (a million tensor names fit)
    "settings": 1 * MiB,  # .ckptscope.toml, pyproject.toml
    "json": 8 * MiB,  # any other small JSON: adapter_config.json, modules.json, ...
    "snapshot": 256 * MiB,  # a snapshot file (compressed or not)
}

#: safetensors: the reference implementation's own header limit (readers/safetensors.py keeps it)
MAX_HEADER_BYTES = 100_000_000

_TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "merges.txt", "vocab.txt", "tokenizer_config.json",
                    "special_tokens_map.json", "added_tokens.json", "tokenizer.model", "spiece.model",
                    "sentencepiece.bpe.model")


def kind_of(name: str) -> str:
    """The cap kind of a metadata file, from its name."""
    base = name.rsplit("/", 1)[-1]
    if base.endswith(".index.json"):
        return "index"
    if base in _TOKENIZER_FILES:
        return "tokenizer"
    if base in ("config.json", "generation_config.json", "preprocessor_config.json", "processor_config.json"):
        return "config"
    if base in (".ckptscope.toml", "pyproject.toml"):
        return "settings"
    return "json"


def cap_for(name: str) -> int:
    return CAPS[kind_of(name)]


_WHAT = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
         stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder"}


def not_regular(mode: int) -> str | None:
    """What a non-regular file is ("a FIFO (named pipe)", ...); None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return _WHAT.get(stat.S_IFMT(mode), "not a regular file")


def open_regular(path: str, display: str | None = None):
    """Open ``path`` for reading only if it is a regular file (after symlinks); returns ``(file, size)``.

    Raises SourceError for a FIFO, device, socket or folder without ever blocking on it; OSError (absent,
    unreadable) passes through for the caller to word.
    """
    name = display or path
    st = os.stat(path)
    what = not_regular(st.st_mode)
    if what:
        raise SourceError(f"is {what}, not a regular file; refused", name)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        what = not_regular(st.st_mode)
        if what:
            raise SourceError(f"is {what}, not a regular file; refused", name)
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    return f, st.st_size


def read_bounded(path: str, display: str | None = None, *, cap: int | None = None, kind: str | None = None) -> bytes:
    """The whole content of a small regular file, at most ``cap`` bytes (default: the cap of its kind).

    Raises SourceError naming the file when it is not a regular file, is larger than the cap, is absent or
    cannot be read.
    """
    name = display or path
    if cap is None:
        cap = CAPS[kind] if kind else cap_for(path)
    try:
        f, size = open_regular(path, name)
    except FileNotFoundError:
        raise SourceError("file not found", name) from None
    except OSError as e:
        raise SourceError(f"cannot read ({e.strerror or e})", name) from None
    with f:
        if size > cap:
            raise SourceError(f"is {size:,} bytes, over the {cap:,}-byte limit for a {kind or kind_of(path)} "
                              "file; refused", name)
        try:
            data = f.read(cap + 1)
        except OSError as e:
            raise SourceError(f"cannot read ({e.strerror or e})", name) from None
    if len(data) > cap:
        raise SourceError(f"grew past the {cap:,}-byte limit while being read; refused", name)
    return data


def escapes(path: str, root: str) -> bool:
    """Whether ``path`` (symlinks resolved) lies outside ``root`` (symlinks resolved)."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return not (real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep))
