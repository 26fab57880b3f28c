"""The interface every source implements: list files, read a small file, read safetensors headers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from ..readers.safetensors import HeaderInfo


@dataclass
class SourceStats:
    requests: int = 0  #: reads or HTTP requests made
    bytes: int = 0  #: bytes read or downloaded


class Source(ABC):
    """Where a checkpoint's bytes come from. Paths are relative to the checkpoint root, with '/' separators."""

    kind: str = "?"  #: "local", "hub", "snapshot", "catalog"
    display: str = ""  #: how to name the checkpoint to a person
    revision: str | None = None  #: resolved commit, when the source has one
    notes: list[str]

    def __init__(self) -> None:
        self.stats = SourceStats()
        self.notes = []

    @abstractmethod
    def list_files(self) -> dict[str, int | None]:
        """Every file of the checkpoint with its size in bytes (None when unknown)."""

    @abstractmethod
    def read_file(self, path: str) -> bytes:
        """A small file whole (config, tokenizer, index). Raises SourceError if absent."""

    @abstractmethod
    def read_headers(self, paths: list[str], strict: bool = True) -> list[HeaderInfo]:
        """The parsed safetensors header of each path, in order."""

    def read_gguf(self, paths: list[str]):
        """The parsed GGUF header of each path, in order (``readers.gguf.GGUFInfo``)."""
        from ..errors import SourceError

        raise SourceError(f"this source ({self.kind}) cannot read GGUF headers", self.display)

    def has_file(self, path: str) -> bool:
        return path in self.list_files()

    def weights_only_file(self) -> str | None:
        """For a source that is a single .safetensors file: its name (the rest of the folder is context)."""
        return None

    def describe(self) -> dict:
        return {"kind": self.kind, "name": self.display, "revision": self.revision,
                "requests": self.stats.requests, "bytes_read": self.stats.bytes}
