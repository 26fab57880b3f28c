"""The one error type readers and sources raise: a file and a sentence a person can act on."""

from __future__ import annotations


class CkptError(Exception):
    """A problem with the input, reported as one line: ``FILE: what is wrong``.

    ``exit_code`` is what the CLI exits with (2: the input could not be read or is invalid).
    """

    exit_code = 2

    def __init__(self, message: str, file: str | None = None):
        self.file = file
        self.message = message
        super().__init__(f"{file}: {message}" if file else message)


class HeaderError(CkptError):
    """A safetensors header (or sharded index) that is malformed or inconsistent."""


class SourceError(CkptError):
    """A source (local path, Hub repo, snapshot) that cannot be opened or read."""
