"""Every `ckptscope ...` line of the README's bash blocks, run as written (in a subprocess, no network).

Local examples run on real material: `./my-model`, `./model`, `./before`, `./after`, `./export` are a sparse copy
of a real checkpoint (granite-3.1-1b-a400m at head-73154ee: real config, tokenizer and index, headers proven against the real
shard sizes), `model.safetensors` one of its shards, `model.ckpt.gz` a snapshot of it, `model.bin` a torch.save zip
(the check corpus's builder), `model-Q4_K_M.gguf` / `model.gguf` / `./gguf-folder` the real SmolLM2 GGUF header, `fixtures/...` the repository's fixtures. They must exit 0 (1 where the command's exit
code says "does not fit" / "a rule fired" / "different").

Hub examples cannot reach a Hub here (HF_ENDPOINT is a closed port): as written they must stop with exit 2 and
one line naming the endpoint (never answer from data not read); those whose repo is in the bundled catalog are run
again with `--catalog`, and must then succeed and say "reconstructed from the catalog, not read from the Hub".
"""

from __future__ import annotations

import lzma
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import dead_endpoint, ROOT, env_with_repo
from sparse import materialize

LABEL = "reconstructed from the catalog, not read from the Hub"
LOCAL_NAMES = ("model.bin", "./my-model", "./model", "./before", "./after", "./export", "./hf-model", "./gguf-folder",
               "model.safetensors", "model.ckpt.gz", "model-Q4_K_M.gguf", "model.gguf", "fixtures/")


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = re.split(r"\s+#\s", line)[0].strip()
            if line.startswith("ckptscope "):
                out.append(line)
    return out


COMMANDS = readme_commands()


_dead = dead_endpoint


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("readme")
    model = materialize("github-granite-3.1-1b-a400m-instruct/head-73154ee", d / "my-model")
    for alias in ("model", "before", "after", "export", "hf-model"):
        (d / alias).symlink_to(model)
    shard = sorted(model.glob("*.safetensors"))[0]
    with open(shard, "rb") as src, open(d / "model.safetensors", "wb") as dst:
        dst.write(src.read(1 << 20))
        dst.truncate(os.path.getsize(shard))
    (d / "fixtures").symlink_to(ROOT / "fixtures")
    from check_corpus.build import state_dict_pickle, torch_zip

    torch_zip(d / "model.bin", state_dict_pickle(("embed.weight", "norm.weight")))  # a torch.save zip, no data
    gguf = lzma.decompress((ROOT / "fixtures/gguf/smollm2-135m-instruct-q4_1.header.gguf.xz").read_bytes())
    (d / "model-Q4_K_M.gguf").write_bytes(gguf)
    (d / "model.gguf").write_bytes(gguf)
    (d / "gguf-folder").mkdir()
    (d / "gguf-folder" / "model-Q4_1.gguf").write_bytes(gguf)
    env = env_with_repo()
    subprocess.run([sys.executable, "-m", "ckptscope", "snapshot", "./my-model", "-o", "model.ckpt.gz"], cwd=d,
                   env=env, check=True, capture_output=True)
    return d


def _local(a: str) -> bool:
    return a.startswith(LOCAL_NAMES)


def _is_local(argv: list[str]) -> bool:
    """The SOURCE (both sources for diff) is local, or the command needs none."""
    if "--list-rules" in argv:
        return True
    if any("ORG/NAME" in a for a in argv):  # a placeholder repo anywhere: a Hub example
        return False
    if argv[1] == "diff":
        return _local(argv[2]) and _local(argv[3])
    return len(argv) > 2 and _local(argv[2])


def _written(argv: list[str], cwd: Path) -> str:
    """The report file an example writes with -o/--output (HTML, SARIF...), when there is one."""
    for flag in ("-o", "--output"):
        if flag in argv and argv.index(flag) + 1 < len(argv):
            p = cwd / argv[argv.index(flag) + 1]
            if p.is_file():
                return p.read_text(errors="replace")
    return ""


def _ok_codes(argv: list[str]) -> set[int]:
    return {0, 1} if argv[1] in ("estimate", "check", "diff") else {0}


def test_readme_has_examples():
    assert len(COMMANDS) >= 25
    assert "ckptscope inspect deepseek-ai/DeepSeek-V3 --catalog" in COMMANDS


@pytest.mark.parametrize("line", COMMANDS)
def test_readme_example(line, workdir, tmp_path):
    argv = shlex.split(line.replace("$HF_TOKEN", "hf_readme_example"))
    dead = _dead()
    env = env_with_repo()
    env.update(HF_ENDPOINT=dead, HF_HOME=str(tmp_path / "hf"))
    env.pop("HF_HUB_OFFLINE", None)

    def run(args):
        return subprocess.run([sys.executable, "-m", *args], cwd=workdir, env=env, capture_output=True, text=True,
                              timeout=120)

    if any(a.startswith("ORG/NAME") for a in argv) and ("--catalog" in argv or "--offline" in argv):
        r = run(argv)  # a placeholder repo is in no cache and no catalog: one line, exit 2
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, (line, r.stderr[-600:])
        return
    if "--catalog" in argv or "--offline" in argv:  # asked for the bundled catalog: works offline, and says so
        r = run(argv)
        assert r.returncode in _ok_codes(argv), (line, r.stderr[-600:])
        assert LABEL in r.stdout + r.stderr + _written(argv, workdir)
        return
    if _is_local(argv):
        r = run(argv)
        assert r.returncode in _ok_codes(argv), (line, r.stderr[-1000:])
        assert "Traceback" not in r.stderr
        return
    r = run(argv)
    assert r.returncode == 2 and "Traceback" not in r.stderr, (line, r.returncode, r.stderr[-600:])
    if argv[1] in ("inspect", "estimate", "explain", "check", "snapshot"):
        assert len(r.stderr.strip().splitlines()) == 1 and (dead in r.stderr or "--offline" in r.stderr
                                                           or "catalog" in r.stderr), r.stderr
    from ckptscope.sources import catalog

    repo = next((a.split("@")[0] for a in argv[2:] if catalog.find(a.split("@")[0])), None)
    if repo and "--catalog" not in argv and "--offline" not in argv and argv[1] != "diff":
        r = run(argv + ["--catalog"])
        assert r.returncode in _ok_codes(argv), (line, r.stderr[-600:])
        assert LABEL in r.stdout + r.stderr + _written(argv, workdir)
