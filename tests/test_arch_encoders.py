"""Encoder families (families/encoders.py) beyond the oracle: what the Hub files of such repos hold and a config
cannot show (a Sentence Transformers module saved bare under a masked-LM ``architectures`` entry, the position_ids
buffer of transformers 4.x checkpoints, a stored copy of the tied decoder), read back off real names, and an
independently published parameter count.

The oracle tests (tests/test_arch_oracle.py) check every head class against transformers 5.23's meta build; here
the expected names come from those oracle files (transformers' output, not ckptscope's) and from published figures.
"""

from __future__ import annotations

import json

import pytest

from ckptscope.analysis.arch import family_name, infer_layout, predict_inventory, reconcile
from ckptscope.analysis.classify import EMBEDDING, LM_HEAD, classify
from ckptscope.api import inspect
from ckptscope.readers.config import from_dict

from tests.conftest import FIXTURES
from tests.stwriter import header_for, write_raw


def _raw(stem):
    return json.loads((FIXTURES / "configs" / stem / "config.json").read_text())


def _oracle(stem):
    return json.loads((FIXTURES / "oracle" / f"{stem}.json").read_text())["tensors"]


class _T:  # a header entry as reconcile reads it
    def __init__(self, name, shape, dtype):
        self.name, self.shape, self.dtype = name, tuple(shape), dtype


def test_dispatch_by_architectures_and_model_type():
    assert family_name(from_dict(_raw("BAAI__bge-m3"))) == "xlm-roberta"
    assert family_name(from_dict(_raw("answerdotai__ModernBERT-base"))) == "modernbert"
    assert family_name(from_dict({"model_type": "distilbert", "dim": 768})) == "distilbert"  # no architectures
    assert family_name(from_dict({"architectures": ["CamembertForMaskedLM"]})) == "camembert"


def test_reranker_total_matches_a_published_parameter_count():
    """A bge-reranker-v2-m3-style XLMRobertaForSequenceClassification (one label): 567,755,777 parameters, as a
    public training plan records for its fine-tune of it (code-index file id 60378559056, `parameter_count`)."""
    inv = predict_inventory(from_dict(_raw("BAAI__bge-reranker-v2-m3")))
    assert sum(t.numel for t in inv) == 567_755_777
    # the backbone alone (bge-m3, XLMRobertaModel with its pooler) is that minus the two-layer classifier head
    base = predict_inventory(from_dict(_raw("BAAI__bge-m3")))
    H = 1024
    assert sum(t.numel for t in base) == 567_755_777 - (H * H + H + H + 1) + (H * H + H)


def test_sentence_transformers_module_saved_bare_under_a_masked_lm_entry():
    """all-mpnet-base-v2's config says MPNetForMaskedLM (it was trained from microsoft/mpnet-base) but a Sentence
    Transformers module saves the bare MPNetModel: no `mpnet.` prefix, a pooler, no LM head; transformers 4.8.2
    persisted `embeddings.position_ids`. The names settle it; the reconciliation is then exact."""
    raw = _raw("sentence-transformers__all-mpnet-base-v2")
    c = from_dict(raw)
    real = [_T(n, s, d) for n, s, d in _oracle("sentence-transformers__paraphrase-mpnet-base-v2")]  # MPNetModel
    real.append(_T("embeddings.position_ids", (1, raw["max_position_embeddings"]), "I64"))
    layout = infer_layout(c, [t.name for t in real])
    assert layout["prefix"] is False and layout["pooler"] is True and layout["head"] is None
    assert layout["position_ids"] is True
    r = reconcile(predict_inventory(c, layout=layout), real)
    assert r.exact, r.problems()[:3]
    # config alone: the masked-LM class as transformers 4.8 saved it (prefix, LM head, position_ids buffer)
    names = {t.name for t in predict_inventory(c)}
    assert "mpnet.embeddings.position_ids" in names and "lm_head.dense.weight" in names
    assert not any(n.startswith("pooler.") or ".pooler." in n for n in names)


@pytest.mark.parametrize("stem,decoder", [
    ("FacebookAI__roberta-base", "lm_head.decoder.weight"),
    ("distilbert__distilbert-base-uncased", "vocab_projector.weight"),
    ("answerdotai__ModernBERT-base", "decoder.weight"),
])
def test_a_stored_copy_of_the_tied_decoder_is_named_as_a_quirk(stem, decoder):
    c = from_dict(_raw(stem))
    inv = predict_inventory(c, layout={"position_ids": False})
    emb = next(t for t in inv if t.component == EMBEDDING and t.name.endswith(("word_embeddings.weight",
                                                                             "tok_embeddings.weight")))
    real = [_T(t.name, t.shape, t.dtype) for t in inv] + [_T(decoder, emb.shape, emb.dtype)]
    r = reconcile(inv, real)
    assert not r.exact and r.exact_but_quirks
    assert [q["kind"] for q in r.quirks] == ["stored_tied_head"] and r.quirks[0]["examples"] == [decoder]


def test_heads_read_off_the_names():
    """A classifier fine-tune whose config still names the masked-LM class: the names show the head."""
    c = from_dict({**_raw("distilbert__distilbert-base-uncased")})
    names = [n for n, _, _ in _oracle("distilbert__distilbert-base-uncased-finetuned-sst-2-english")]
    lay = infer_layout(c, names)
    assert lay["prefix"] is True and lay["head"] == "seqcls"
    inv = predict_inventory(c, layout=lay)
    assert {t.name for t in inv} == set(names)


def test_modernbert_layer_zero_has_no_attention_norm_and_biases_follow_the_config():
    raw = _raw("answerdotai__ModernBERT-base")
    names = {t.name for t in predict_inventory(from_dict(raw))}
    assert "model.layers.0.attn_norm.weight" not in names and "model.layers.1.attn_norm.weight" in names
    assert not any(n.endswith(".bias") for n in names if n != "decoder.bias")
    biased = predict_inventory(from_dict({**raw, "attention_bias": True, "norm_bias": True}))
    shapes = {t.name: t.shape for t in biased}
    assert shapes["model.layers.3.attn.Wqkv.bias"] == (3 * raw["hidden_size"],)
    assert shapes["model.final_norm.bias"] == (raw["hidden_size"],)


def test_head_tensor_names_classify_as_the_head():
    for stem in ("distilbert__distilbert-base-uncased", "google__electra-base-discriminator",
                 "answerdotai__ModernBERT-base", "BAAI__bge-reranker-v2-m3"):
        for t in predict_inventory(from_dict(_raw(stem))):
            if t.component == LM_HEAD and "norm" not in t.name.lower():
                assert classify(t.name).component == LM_HEAD, t.name


def test_inspect_a_bare_xlm_roberta_folder_end_to_end(tmp_path):
    """A bge-m3 layout written as a (sparse) safetensors file: rules apply, exact reconciliation, the tokenizer-less
    report counts every parameter."""
    raw = _raw("BAAI__bge-m3")
    (tmp_path / "config.json").write_text(json.dumps(raw))
    tensors = {n: (d, s) for n, s, d in _oracle("BAAI__bge-m3")}
    h, size = header_for(tensors, {"format": "pt"})
    write_raw(tmp_path / "model.safetensors", h, size)
    r = inspect(str(tmp_path))
    assert r.sections["architecture"]["family"] == "xlm-roberta"
    assert r.sections["reconciliation"]["status"] == "exact"
    assert r.parameters["total"] == 567_754_752


@pytest.mark.parametrize("patch", [{"type_vocab_size": -1}, {"type_vocab_size": True}, {"num_labels": 10**12},
                                   {"hidden_size": "768"}, {"num_hidden_layers": 10**9}, {"embedding_size": 0}])
def test_a_malformed_field_is_refused_with_a_reason_not_a_crash(patch):
    from ckptscope.analysis.arch import try_predict

    raw = {**_raw("google__electra-base-discriminator"), "architectures": ["ElectraForSequenceClassification"],
           **patch}
    raw.pop("id2label", None)
    inv, why = try_predict(from_dict(raw))
    assert inv is None and why.startswith("electra rules cannot predict this config")


def test_an_empty_token_type_table_is_predicted_as_transformers_builds_it():
    """type_vocab_size 0: transformers still registers token_type_embeddings, with 0 rows."""
    shapes = {t.name: t.shape for t in predict_inventory(from_dict({**_raw("BAAI__bge-m3"), "type_vocab_size": 0}))}
    assert shapes["embeddings.token_type_embeddings.weight"] == (0, 1024)


def _st_repo(d):
    """An all-mpnet-base-v2-shaped Sentence Transformers folder: its real config.json, modules.json and pooling
    config (as listed in the audit notes behind the fixture), a sparse safetensors file of the bare MPNetModel
    (transformers' names) with the position_ids buffer of a transformers 4.8 file."""
    raw = _raw("sentence-transformers__all-mpnet-base-v2")
    (d / "1_Pooling").mkdir(parents=True)
    (d / "config.json").write_text(json.dumps(raw))
    (d / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    (d / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 768,
                                                             "pooling_mode_mean_tokens": True}))
    (d / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 384, "do_lower_case": False}))
    tensors = {n: (dt, s) for n, s, dt in _oracle("sentence-transformers__paraphrase-mpnet-base-v2")}
    tensors["embeddings.position_ids"] = ("I64", [1, raw["max_position_embeddings"]])
    h, size = header_for(tensors, {"format": "pt"})
    write_raw(d / "model.safetensors", h, size)
    return d


def test_sentence_transformers_repo_inspects_exact_and_passes_check(tmp_path, run_cli):
    d = _st_repo(tmp_path / "st")
    r = inspect(str(d))
    assert r.sections["reconciliation"]["status"] == "exact"
    assert r.parameters["weights"] == 109_486_464  # the Hub's F32 count for all-mpnet-base-v2 (+ 514 I64 buffer)
    code, out, err = run_cli("check", d)
    assert code == 0 and "All checks passed" in out
    # a shard with one layer's feed-forward missing: the check fails and names the tensor
    tensors = {n: (dt, s) for n, s, dt in _oracle("sentence-transformers__paraphrase-mpnet-base-v2")
               if n != "encoder.layer.5.output.dense.weight"}
    tensors["embeddings.position_ids"] = ("I64", [1, 514])
    h, size = header_for(tensors, {"format": "pt"})
    write_raw(d / "model.safetensors", h, size)
    code, out, err = run_cli("check", d)
    assert code != 0 and "encoder.layer.5.output.dense.weight" in out + err
