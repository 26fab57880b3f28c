"""Security scanning of pickle-based files, its own room: the opcode walker (``opcodes``), container detection
(``containers``), the allow-list and denylist as data (``allowlist.json``, ``denylist.json``, read by
``policy``), and the file scan that ties them together (``scan``). ``check``'s PK rules only report what
:func:`scan_path` finds. Nothing here ever unpickles, imports torch, or runs what it reads.

Public API::

    res = scan_path("pytorch_model.bin")          # or scan_bytes(data, "name")
    res.kind                                      # container, None when not pickle-based
    res.verdicts(extra_allowed={"my.Class"})      # every import: allowed / cli-allowed / critical / error
    res.problems                                  # critical constructs and places the scan could not verify
    res.failed()                                  # whether the file fails the gate
    sniff_pickle_container(path_or_bytes)         # the kind only
"""

from .policy import judge
from .scan import Budget, ScanResult, scan_bytes, scan_path, sniff_pickle_container

__all__ = ["Budget", "ScanResult", "judge", "scan_bytes", "scan_path", "sniff_pickle_container"]
