"""tokenizer.json parsed in a forked child beside the header reading (readers.tokenizer.tokenizer_json_facts /
from_facts, checkpoint._start_tokenizer): on the real tokenizer files it must give exactly what the ordinary
in-process reading gives, token and merge lists included, and the same error for a broken file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

import ckptscope.checkpoint as checkpoint
from ckptscope.api import open_checkpoint
from ckptscope.errors import CkptError
from ckptscope.readers.tokenizer import (apply_tokenizer_config, from_facts, from_tokenizer_json,
                                         tokenizer_json_facts)

from tests.conftest import FIXTURES

TOK = FIXTURES / "tokenizers"
pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the background parse needs os.fork")


@pytest.mark.parametrize("name", ["deepseek_v3", "llama3", "qwen3"])
def test_background_facts_equal_the_ordinary_reading(name):
    data = (TOK / name / "tokenizer.json").read_bytes()
    conf = (TOK / name / "tokenizer_config.json").read_bytes()
    want = from_tokenizer_json(data)
    apply_tokenizer_config(want, conf)
    got = from_facts(tokenizer_json_facts(data, conf), data)
    assert got.to_dict() == want.to_dict()
    assert got.added_tokens == want.added_tokens and got.config_added_tokens == want.config_added_tokens
    assert got.special_token_ids and got.special_token_ids == want.special_token_ids
    assert len(got.tokens) == len(want.tokens) and list(got.tokens) == list(want.tokens)
    assert list(got.merges) == list(want.merges) and len(got.merges) == want.num_merges


def _folder(tmp_path, tokenizer_bytes: bytes):
    d = tmp_path / "m"
    shutil.copytree(FIXTURES / "configs" / "meta-llama__Llama-3.2-1B", d)
    (d / "tokenizer.json").write_bytes(tokenizer_bytes)
    return d


_CHILD = """
import sys
import ckptscope.checkpoint as checkpoint
from ckptscope.api import open_checkpoint
started = []
real = checkpoint._start_tokenizer
checkpoint._start_tokenizer = lambda s, f: started.append(real(s, f)) or started[-1]
ck = open_checkpoint(sys.argv[1])
print(started[0] is not None, ck.tokenizer.vocab_size, ck.tokenizer.max_id)
"""


def test_open_checkpoint_takes_the_background_parse(tmp_path):
    # A fresh interpreter: the parse is forked only from a single-threaded process, and the test run has threads
    # (torch, the Hub stand-ins) by the time it gets here.
    d = _folder(tmp_path, (TOK / "llama3" / "tokenizer.json").read_bytes())
    out = subprocess.run([sys.executable, "-c", _CHILD, str(d)], capture_output=True, text=True, timeout=120,
                         cwd=str(FIXTURES.parent))
    assert out.returncode == 0, out.stderr
    ran, vocab, max_id = out.stdout.split()
    want = from_tokenizer_json((TOK / "llama3" / "tokenizer.json").read_bytes())
    assert ran == "True"  # the child ran and its result was taken
    assert int(vocab) == want.vocab_size == 128256 and int(max_id) == want.max_id


def test_a_broken_tokenizer_json_gives_the_same_error_either_way(tmp_path, monkeypatch):
    bad = b'{"model": {"type": "BPE", "vocab": {"a": 0}'  # cut short
    with pytest.raises(CkptError) as inline:
        from_tokenizer_json(bad)
    with pytest.raises(CkptError) as job:
        from_facts(tokenizer_json_facts(bad, None), bad)
    assert str(job.value) == str(inline.value)
    d = _folder(tmp_path, bad)
    ck = open_checkpoint(str(d))
    probs = [(p.code, p.file, p.message) for p in ck.problems]
    assert ck.tokenizer is None and ("TK000", "tokenizer.json", inline.value.message) in probs
