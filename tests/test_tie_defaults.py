"""An absent ``tie_word_embeddings`` must mean what transformers' config class says it means: every family with a
transformers 5.23 config class is compared with that class's top-level default (the value ``tie_weights`` reads).
Needs transformers; skipped without it."""

from __future__ import annotations

import json

import pytest

transformers = pytest.importorskip("transformers")
from transformers.models.auto.configuration_auto import CONFIG_MAPPING  # noqa: E402

from ckptscope.analysis.arch import predict_inventory  # noqa: E402
from ckptscope.analysis.arch.families import FAMILIES  # noqa: E402
from ckptscope.readers.config import from_dict  # noqa: E402

from tests.conftest import FIXTURES  # noqa: E402

# Families whose head is not decided by the top-level key of their own config class, with the reason.
NOT_TOP_LEVEL = {
    # Mistral3Config defaults tie_word_embeddings=True at the top, but every published Mistral-Small-3.x /
    # Devstral checkpoint stores language_model.lm_head (text_config says false): the rules follow the files.
    "mistral3": "head follows text_config (published checkpoints store lm_head)",
    # the thinker's and talker's own configs carry the tie flags; the top-level config has none
    "qwen2_5_omni": "tie flags live in thinker_config / talker_config",
}


def _families_with_a_config_class():
    out = []
    for mt in sorted(FAMILIES):
        if mt in CONFIG_MAPPING and mt not in NOT_TOP_LEVEL:
            out.append(mt)
    return out


@pytest.mark.parametrize("mt", _families_with_a_config_class())
def test_absent_tie_key_means_the_config_class_default(mt):
    try:
        cfg = CONFIG_MAPPING[mt]()
    except Exception as e:  # a config class that cannot be built without arguments says nothing about defaults
        pytest.skip(f"{mt}: config class needs arguments ({type(e).__name__})")
    tf = getattr(cfg, "tie_word_embeddings", None)
    if tf is None:
        pytest.skip(f"{mt}: config class has no top-level tie_word_embeddings")
    ours = bool(getattr(FAMILIES[mt], "TIE_DEFAULT", False))
    assert ours == bool(tf), f"{mt}: ckptscope assumes tied={ours} when the key is absent, transformers {bool(tf)}"


@pytest.mark.parametrize("stem", ["transformers__granitemoe", "transformers__granitemoeshared"])
def test_granitemoe_without_the_key_predicts_an_lm_head(stem):
    """GraniteMoeConfig defaults to untied, so a config without the key gets a (V x H) lm_head, and one that says
    true (granite-3.x MoE Hub configs) gets none."""
    raw = json.loads((FIXTURES / "configs" / stem / "config.json").read_text())
    raw.pop("tie_word_embeddings", None)
    names = {t.name: t.shape for t in predict_inventory(from_dict(raw))}
    assert names["lm_head.weight"] == (raw["vocab_size"], raw["hidden_size"])
    raw["tie_word_embeddings"] = True
    assert "lm_head.weight" not in {t.name for t in predict_inventory(from_dict(raw))}
