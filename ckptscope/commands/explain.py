"""`ckptscope explain SOURCE`: each config.json field in plain words, with what it implies for this model."""

from __future__ import annotations

from .common import add_source_arguments, open_from_args, write

DESCRIPTION = """\
Read config.json and explain every field: what it means, and what it implies for this model (context limit,
KV-cache size, parameters it accounts for, tied matrices, experts active per token...).

exit codes: 0 done; 2 the input could not be read or is invalid, nothing to read, the Hub unreachable or too slow
(--timeout), usage error; 3 internal error (a bug; --debug shows it).

examples:
  ckptscope explain ./my-model
  ckptscope explain deepseek-ai/DeepSeek-V3
  ckptscope explain ./my-model --json
"""


def add_arguments(p) -> None:
    add_source_arguments(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--all", action="store_true", help="also list training-only and unexplained fields")


def run(args) -> int:
    import json

    from ..analysis.arch.fields import explain_config, short
    from ..errors import CkptError

    ck = open_from_args(args, tokenizer=False)
    if ck.config is None:
        raise CkptError("no config.json: nothing to explain", ck.source.display)
    from ..provenance import label

    entries = explain_config(ck.config)
    prov = label(ck.source)
    if args.json:
        write(json.dumps({"source": ck.source.display, **({"provenance": prov} if prov else {}), "fields": entries},
                         indent=2, default=str))
        return 0
    lines = [f"{ck.source.display}: config.json of {ck.config.architecture} ({ck.config.model_type})"]
    lines += [f"(config.json from the bundled catalog; the derived sizes are {prov})", ""] if prov else [""]
    hidden = 0
    for e in entries:
        if not args.all and (e["meaning"] is None or e["implies"] == "used in training only; no effect on size or "
                                                                     "inference"):
            hidden += 1
            continue
        lines.append(f"{e['field']} = {short(e['value'])}")
        lines.append(f"    {e['meaning']}")
        if e["implies"]:
            lines.append(f"    -> {e['implies']}")
    if hidden:
        lines.append("")
        lines.append(f"({hidden} training-only or unexplained field(s) not shown; --all lists them)")
    write("\n".join(lines))
    return 0
