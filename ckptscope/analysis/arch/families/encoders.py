"""Encoder-only families beside BERT (families/bert.py): RoBERTa / XLM-RoBERTa / CamemBERT, ELECTRA, DistilBERT,
MPNet and ModernBERT: the backbones of most Sentence Transformers, rerankers and classifiers on the Hub.

Each is checked against transformers 5.23's meta build of a real config (fixtures/oracle/<org>__<name>.json) and of
one config per head class (fixtures/oracle/transformers__<family>__<head>.json, tests/test_arch_encoders.py).

What the ``architectures`` entry implies, and what the names show when headers exist (layout options):

- ``prefix``: the task classes save the backbone under ``roberta.`` / ``electra.`` / ``distilbert.`` / ``mpnet.`` /
  ``model.``; the base class (``XLMRobertaModel``: bge-m3, a Sentence Transformers module) saves it bare;
- ``pooler``: the base class of RoBERTa and MPNet carries a pooler (dense H x H), the task classes do not (except
  multiple choice); ELECTRA, DistilBERT and ModernBERT have none;
- ``head``: mlm (the tied decoder weight is not stored, its bias is), seqcls, tokcls, qa, mc, or ELECTRA's
  discriminator (``pretrain``); a Sentence Transformers repo often keeps a masked-LM ``architectures`` entry over
  a bare backbone (all-mpnet-base-v2): only the names settle that;
- ``position_ids``: checkpoints written before transformers 4.31 persist ``embeddings.position_ids`` (I64, 1 x P).
"""

from __future__ import annotations

from ...classify import ATTENTION, BUFFER, EMBEDDING, LM_HEAD, MLP, NORM, POSITION
from ..decoder import CustomFamily, Spec
from ..engine import BUFFERS_DROPPED, PredictionError, linear, norm, saved_by

TF = "transformers 5.23 meta-device build (fixtures/oracle/{})"

#: head class suffix -> head kind (the backbone's own class has no head)
_HEADS = (("ForMaskedLM", "mlm"), ("ForCausalLM", "mlm"), ("ForPreTraining", "pretrain"),
          ("ForSequenceClassification", "seqcls"), ("ForTokenClassification", "tokcls"),
          ("ForQuestionAnswering", "qa"), ("ForMultipleChoice", "mc"))


def _pos(v, what, least=1):
    if isinstance(v, bool) or not isinstance(v, int) or v < least or v > 10_000_000:
        raise PredictionError(f"config.json gives no usable value for {what}")
    return v


def _types(d) -> int:
    """Rows of the token-type table: transformers builds it even with 0 rows (an empty (0, width) tensor)."""
    return _pos(d.get("type_vocab_size", 2), "type_vocab_size", least=0)


def _labels(d) -> int:
    id2label = d.get("id2label")
    if isinstance(id2label, dict) and id2label:
        return len(id2label)
    n = d.get("num_labels")
    return _pos(n, "num_labels") if n is not None else 2


def _head_kind(c) -> str | None:
    for a in c.architectures or ():
        for suffix, kind in _HEADS:
            if a.endswith(suffix):
                return kind
        if a.endswith("Model"):
            return None
    return None


def _layout(prefix: str, pooled_base: bool, buffers: bool = True):
    """default_layout / layout_from_names of a family whose backbone is saved under ``prefix`` by the task
    classes."""

    def default(c) -> dict:
        head = _head_kind(c)
        v = saved_by(c)
        return {"prefix": head is not None, "head": head,
                "pooler": pooled_base and head in (None, "mc"),
                "position_ids": buffers and v is not None and (3, 0) <= v < BUFFERS_DROPPED}

    def from_names(c, names) -> dict:
        lay = default(c)
        lay["prefix"] = any(n.startswith(prefix) for n in names)
        lay["pooler"] = any(n.startswith(("pooler.", prefix + "pooler.")) for n in names)
        lay["position_ids"] = buffers and any(n.endswith("embeddings.position_ids") for n in names)
        roots = {n.split(".", 1)[0] for n in names}
        if lay["prefix"] or lay["head"] is not None:
            lay["head"] = _head_from_roots(roots, names, lay["head"])
        return lay

    return default, from_names


def _head_from_roots(roots: set, names, guess):
    if roots & {"lm_head", "vocab_projector", "vocab_transform", "generator_lm_head", "generator_predictions",
                "decoder"}:
        return "mlm"
    if "discriminator_predictions" in roots:
        return "pretrain"
    if "qa_outputs" in roots:
        return "qa"
    if "classifier" in roots or "pre_classifier" in roots:
        if guess in ("seqcls", "tokcls", "mc"):
            return guess
        return "seqcls"
    return None


# ---- RoBERTa / XLM-RoBERTa / CamemBERT (and ELECTRA's backbone): BERT's post-norm layer

def _bert_layer(p, H, I):
    for w in ("query", "key", "value"):
        yield from linear(f"{p}.attention.self.{w}", H, H, ATTENTION, True, None)
    yield from linear(p + ".attention.output.dense", H, H, ATTENTION, True, None)
    yield from norm(p + ".attention.output.LayerNorm", H, NORM, True)
    yield from linear(p + ".intermediate.dense", I, H, MLP, True, None)
    yield from linear(p + ".output.dense", H, I, MLP, True, None)
    yield from norm(p + ".output.LayerNorm", H, NORM, True)


def _cls_head(d, H, dense_head: bool):
    """seqcls: RoBERTa/ELECTRA/MPNet classification head (dense H x H + out_proj) or a plain classifier."""
    n = _labels(d)
    if dense_head:
        yield from linear("classifier.dense", H, H, LM_HEAD, True, None)
        yield from linear("classifier.out_proj", n, H, LM_HEAD, True, None)
    else:
        yield from linear("classifier", n, H, LM_HEAD, True, None)


def _task_heads(d, layout, H):
    """The heads RoBERTa and MPNet share (MPNet's classes mirror RoBERTa's)."""
    head = layout.get("head")
    if head == "mlm":
        yield "lm_head.bias", (d.V,), LM_HEAD, None
        yield from linear("lm_head.dense", H, H, LM_HEAD, True, None)
        yield from norm("lm_head.layer_norm", H, LM_HEAD, True)
        if not d.tied:
            yield "lm_head.decoder.weight", (d.V, H), LM_HEAD, None
    elif head == "seqcls":
        yield from _cls_head(d, H, True)
    elif head == "tokcls":
        yield from _cls_head(d, H, False)
    elif head == "qa":
        yield from linear("qa_outputs", 2, H, LM_HEAD, True, None)
    elif head == "mc":
        yield from linear("classifier", 1, H, LM_HEAD, True, None)


def _roberta(s, d, layout):
    d.need("H", "L", "I", "V", "P")
    H, I = d.H, d.I
    t = "roberta." if layout.get("prefix") else ""
    e = t + "embeddings."
    if layout.get("head") == "seqcls":  # transformers registers the classifier before the backbone
        yield from _cls_head(d, H, True)
    if layout.get("position_ids"):
        yield e + "position_ids", (1, d.P), BUFFER, "I64"
    yield e + "word_embeddings.weight", (d.V, H), EMBEDDING, None
    yield e + "token_type_embeddings.weight", (_types(d), H), EMBEDDING, None
    yield from norm(e + "LayerNorm", H, NORM, True)
    yield e + "position_embeddings.weight", (d.P, H), POSITION, None
    for i in range(d.L):
        yield from _bert_layer(f"{t}encoder.layer.{i}", H, I)
    if layout.get("pooler"):
        yield from linear(t + "pooler.dense", H, H, LM_HEAD, True, None)
    if layout.get("head") != "seqcls":
        yield from _task_heads(d, layout, H)


# ---- ELECTRA: BERT layers over embeddings of their own width (embedding_size), projected when it differs

def _electra(s, d, layout):
    d.need("H", "L", "I", "V", "P")
    H, I = d.H, d.I
    E = _pos(d.get("embedding_size", H), "embedding_size")
    t = "electra." if layout.get("prefix") else ""
    e = t + "embeddings."
    if layout.get("position_ids"):
        yield e + "position_ids", (1, d.P), BUFFER, "I64"
    yield e + "word_embeddings.weight", (d.V, E), EMBEDDING, None
    yield e + "position_embeddings.weight", (d.P, E), POSITION, None
    yield e + "token_type_embeddings.weight", (_types(d), E), EMBEDDING, None
    yield from norm(e + "LayerNorm", E, NORM, True)
    if E != H:
        yield from linear(t + "embeddings_project", H, E, EMBEDDING, True, None)
    for i in range(d.L):
        yield from _bert_layer(f"{t}encoder.layer.{i}", H, I)
    head = layout.get("head")
    if head == "pretrain":
        yield from linear("discriminator_predictions.dense", H, H, LM_HEAD, True, None)
        yield from linear("discriminator_predictions.dense_prediction", 1, H, LM_HEAD, True, None)
    elif head == "mlm":
        yield from linear("generator_predictions.dense", E, H, LM_HEAD, True, None)
        yield from norm("generator_predictions.LayerNorm", E, LM_HEAD, True)
        yield "generator_lm_head.bias", (d.V,), LM_HEAD, None
        if not d.tied:
            yield "generator_lm_head.weight", (d.V, E), LM_HEAD, None
    elif head == "seqcls":
        yield from _cls_head(d, H, True)
    elif head == "tokcls":
        yield from _cls_head(d, H, False)
    elif head == "qa":
        yield from linear("qa_outputs", 2, H, LM_HEAD, True, None)
    elif head == "mc":
        if d.get("summary_use_proj", True):  # SequenceSummary: labels wide only with summary_proj_to_labels
            n = _labels(d) if d.get("summary_proj_to_labels") else H
            yield from linear("sequence_summary.summary", n, H, LM_HEAD, True, None)
        yield from linear("classifier", 1, H, LM_HEAD, True, None)


# ---- DistilBERT: q_lin/k_lin/v_lin/out_lin, sa_layer_norm, ffn.lin1/lin2, output_layer_norm; no token types

def _distilbert(s, d, layout):
    d.need("H", "L", "V", "P")
    H = d.H
    I = _pos(d.get("hidden_dim", 4 * H), "hidden_dim")
    t = "distilbert." if layout.get("prefix") else ""
    e = t + "embeddings."
    yield e + "word_embeddings.weight", (d.V, H), EMBEDDING, None
    yield e + "position_embeddings.weight", (d.P, H), POSITION, None
    yield from norm(e + "LayerNorm", H, NORM, True)
    if layout.get("position_ids"):
        yield e + "position_ids", (1, d.P), BUFFER, "I64"
    for i in range(d.L):
        p = f"{t}transformer.layer.{i}"
        for w in ("q_lin", "k_lin", "v_lin", "out_lin"):
            yield from linear(f"{p}.attention.{w}", H, H, ATTENTION, True, None)
        yield from norm(p + ".sa_layer_norm", H, NORM, True)
        yield from linear(p + ".ffn.lin1", I, H, MLP, True, None)
        yield from linear(p + ".ffn.lin2", H, I, MLP, True, None)
        yield from norm(p + ".output_layer_norm", H, NORM, True)
    head = layout.get("head")
    if head == "mlm":
        yield from linear("vocab_transform", H, H, LM_HEAD, True, None)
        yield from norm("vocab_layer_norm", H, LM_HEAD, True)
        yield "vocab_projector.bias", (d.V,), LM_HEAD, None
        if not d.tied:
            yield "vocab_projector.weight", (d.V, H), LM_HEAD, None
    elif head in ("seqcls", "mc"):
        yield from linear("pre_classifier", H, H, LM_HEAD, True, None)
        yield from linear("classifier", _labels(d) if head == "seqcls" else 1, H, LM_HEAD, True, None)
    elif head == "tokcls":
        yield from linear("classifier", _labels(d), H, LM_HEAD, True, None)
    elif head == "qa":
        yield from linear("qa_outputs", 2, H, LM_HEAD, True, None)


# ---- MPNet: attention.attn.q/k/v/o + attention.LayerNorm, one relative-position bias table per model

def _mpnet(s, d, layout):
    d.need("H", "L", "nh", "I", "V", "P")
    H, I = d.H, d.I
    t = "mpnet." if layout.get("prefix") else ""
    e = t + "embeddings."
    if layout.get("head") == "seqcls":
        yield from _cls_head(d, H, True)
    yield e + "word_embeddings.weight", (d.V, H), EMBEDDING, None
    yield e + "position_embeddings.weight", (d.P, H), POSITION, None
    yield from norm(e + "LayerNorm", H, NORM, True)
    if layout.get("position_ids"):
        yield e + "position_ids", (1, d.P), BUFFER, "I64"
    for i in range(d.L):
        p = f"{t}encoder.layer.{i}"
        for w in ("q", "k", "v", "o"):
            yield from linear(f"{p}.attention.attn.{w}", H, H, ATTENTION, True, None)
        yield from norm(p + ".attention.LayerNorm", H, NORM, True)
        yield from linear(p + ".intermediate.dense", I, H, MLP, True, None)
        yield from linear(p + ".output.dense", H, I, MLP, True, None)
        yield from norm(p + ".output.LayerNorm", H, NORM, True)
    buckets = _pos(d.get("relative_attention_num_buckets", 32), "relative_attention_num_buckets")
    yield t + "encoder.relative_attention_bias.weight", (buckets, d.nh), POSITION, None
    if layout.get("pooler"):
        yield from linear(t + "pooler.dense", H, H, LM_HEAD, True, None)
    if layout.get("head") != "seqcls":
        yield from _task_heads(d, layout, H)


# ---- ModernBERT: pre-norm layers (layer 0 reuses the embedding norm: no attn_norm), fused Wqkv, GLU Wi

def _modernbert(s, d, layout):
    d.need("H", "L", "I", "V")
    H, I = d.H, d.I
    ab, mb, nb = bool(d.get("attention_bias")), bool(d.get("mlp_bias")), bool(d.get("norm_bias"))
    t = "model." if layout.get("prefix") else ""
    yield t + "embeddings.tok_embeddings.weight", (d.V, H), EMBEDDING, None
    yield from norm(t + "embeddings.norm", H, NORM, nb)
    for i in range(d.L):
        p = f"{t}layers.{i}"
        if i:
            yield from norm(p + ".attn_norm", H, NORM, nb)
        yield from linear(p + ".attn.Wqkv", 3 * H, H, ATTENTION, ab, None)
        yield from linear(p + ".attn.Wo", H, H, ATTENTION, ab, None)
        yield from norm(p + ".mlp_norm", H, NORM, nb)
        yield from linear(p + ".mlp.Wi", 2 * I, H, MLP, mb, None)
        yield from linear(p + ".mlp.Wo", H, I, MLP, mb, None)
    yield from norm(t + "final_norm", H, NORM, nb)
    head = layout.get("head")
    if head is None:
        return
    yield from linear("head.dense", H, H, LM_HEAD, bool(d.get("classifier_bias")), None)
    yield from norm("head.norm", H, LM_HEAD, nb)
    if head == "mlm":
        if not d.tied:
            yield "decoder.weight", (d.V, H), LM_HEAD, None
        if d.get("decoder_bias", True):
            yield "decoder.bias", (d.V,), LM_HEAD, None
    elif head in ("seqcls", "tokcls", "qa", "mc"):
        n = {"qa": 2, "mc": 1}.get(head) or _labels(d)
        yield from linear("classifier", n, H, LM_HEAD, True, None)


def _arches(stem: str) -> tuple[str, ...]:
    return (stem + "Model",) + tuple(stem + suffix for suffix, _ in _HEADS)


_ROBERTA_DEFAULTS = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                     "intermediate_size": 3072, "max_position_embeddings": 512, "type_vocab_size": 2}

FAMILY_LIST = [
    CustomFamily(Spec(("roberta",), _arches("Roberta"), TF.format("FacebookAI__roberta-base"), tie=True,
                      defaults={**_ROBERTA_DEFAULTS, "vocab_size": 50265}), _roberta, *_layout("roberta.", True)),
    CustomFamily(Spec(("xlm-roberta",), _arches("XLMRoberta"),
                      TF.format("BAAI__bge-m3, BAAI__bge-reranker-v2-m3"), tie=True,
                      defaults={**_ROBERTA_DEFAULTS, "vocab_size": 30522}), _roberta, *_layout("roberta.", True)),
    CustomFamily(Spec(("camembert",), _arches("Camembert"), TF.format("transformers__camembert"), tie=True,
                      defaults={**_ROBERTA_DEFAULTS, "vocab_size": 30522}), _roberta, *_layout("roberta.", True)),
    CustomFamily(Spec(("electra",), _arches("Electra"), TF.format("google__electra-base-discriminator"), tie=True,
                      defaults={"vocab_size": 30522, "embedding_size": 128, "hidden_size": 256,
                                "num_hidden_layers": 12, "num_attention_heads": 4, "intermediate_size": 1024,
                                "max_position_embeddings": 512, "type_vocab_size": 2}),
                 _electra, *_layout("electra.", False)),
    CustomFamily(Spec(("distilbert",), _arches("DistilBert"), TF.format("distilbert__distilbert-base-uncased"),
                      tie=True, defaults={"vocab_size": 30522, "dim": 768, "n_layers": 6, "n_heads": 12,
                                          "hidden_dim": 3072, "max_position_embeddings": 512}),
                 _distilbert, *_layout("distilbert.", False)),
    CustomFamily(Spec(("mpnet",), _arches("MPNet"), TF.format("sentence-transformers__all-mpnet-base-v2"), tie=True,
                      defaults={"vocab_size": 30527, "hidden_size": 768, "num_hidden_layers": 12,
                                "num_attention_heads": 12, "intermediate_size": 3072, "max_position_embeddings": 512,
                                "relative_attention_num_buckets": 32}), _mpnet, *_layout("mpnet.", True)),
    CustomFamily(Spec(("modernbert",), _arches("ModernBert"), TF.format("answerdotai__ModernBERT-base"), tie=True,
                      defaults={"vocab_size": 50368, "hidden_size": 768, "num_hidden_layers": 22,
                                "num_attention_heads": 12, "intermediate_size": 1152,
                                "max_position_embeddings": 8192, "attention_bias": False, "mlp_bias": False,
                                "norm_bias": False, "classifier_bias": False, "decoder_bias": True}),
                 _modernbert, *_layout("model.", False, buffers=False)),
]
