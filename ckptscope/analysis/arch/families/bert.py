"""BERT encoders: word/position/token-type embeddings + LayerNorm, post-norm encoder layers
(attention.self.query/key/value, attention.output.dense + LayerNorm, intermediate.dense, output.dense + LayerNorm),
and the heads the ``architectures`` entry implies:

- BertModel: saved without the ``bert.`` prefix, with the pooler (sentence-transformers checkpoints such as
  all-MiniLM-L6-v2);
- BertForMaskedLM: ``bert.`` prefix, no pooler, ``cls.predictions`` (transform dense + LayerNorm, bias; the
  decoder weight is tied to the word embeddings and not stored);
- BertForPreTraining: pooler + ``cls.predictions`` + ``cls.seq_relationship`` (the NSP head, 2 x hidden);
- BertForSequenceClassification / TokenClassification / QuestionAnswering: ``classifier`` / ``qa_outputs``.

Checkpoints written by transformers 3.x to 4.30 also store the ``embeddings.position_ids`` buffer, I64 (1, P).
"""

from ...classify import ATTENTION, BUFFER, EMBEDDING, LM_HEAD, MLP, NORM, POSITION
from ..engine import BUFFERS_DROPPED, saved_by

MODEL_TYPES = ("bert",)
TIE_DEFAULT = True
DEFAULT_DTYPE = "F32"

HEADS = {  # architecture -> (pooler, masked-LM head, NSP head, classifier name)
    "BertModel": (True, False, False, None),
    "BertForMaskedLM": (False, True, False, None),
    "BertLMHeadModel": (False, True, False, None),
    "BertForPreTraining": (True, True, True, None),
    "BertForNextSentencePrediction": (True, False, True, None),
    "BertForSequenceClassification": (True, False, False, "classifier"),
    "BertForMultipleChoice": (True, False, False, "classifier"),
    "BertForTokenClassification": (False, False, False, "classifier"),
    "BertForQuestionAnswering": (False, False, False, "qa_outputs"),
}


def default_layout(c) -> dict:
    arch = (c.architectures or ["BertModel"])[0]
    pooler, mlm, nsp, cls = HEADS.get(arch, (True, False, False, None))
    v = saved_by(c)
    return {"prefix": arch != "BertModel", "pooler": pooler, "mlm": mlm, "nsp": nsp, "classifier": cls,
            "position_ids": v is not None and (3, 0) <= v < BUFFERS_DROPPED}


def layout_from_names(c, names) -> dict:
    lay = default_layout(c)
    lay["prefix"] = any(n.startswith("bert.") for n in names)
    lay["pooler"] = any(".pooler." in n or n.startswith("pooler.") for n in names)
    lay["mlm"] = any(n.startswith("cls.predictions.") for n in names)
    lay["nsp"] = any(n.startswith("cls.seq_relationship.") for n in names)
    lay["position_ids"] = any(n.endswith("embeddings.position_ids") for n in names)
    return lay


def _labels(c) -> int:
    id2label = c.get("id2label")
    return len(id2label) if isinstance(id2label, dict) and id2label else int(c.get("num_labels") or 2)


def tensors(d, layout):
    d.need("H", "L", "I", "V", "P")
    H, I = d.H, d.I
    t = "bert." if layout.get("prefix") else ""
    e = t + "embeddings."
    if layout.get("position_ids"):
        yield e + "position_ids", (1, d.P), BUFFER, "I64"
    yield e + "word_embeddings.weight", (d.V, H), EMBEDDING, None
    yield e + "position_embeddings.weight", (d.P, H), POSITION, None
    yield e + "token_type_embeddings.weight", (int(d.get("type_vocab_size") or 2), H), EMBEDDING, None
    yield e + "LayerNorm.weight", (H,), NORM, None
    yield e + "LayerNorm.bias", (H,), NORM, None
    for i in range(d.L):
        p = f"{t}encoder.layer.{i}."
        for w in ("query", "key", "value"):
            yield p + f"attention.self.{w}.weight", (H, H), ATTENTION, None
            yield p + f"attention.self.{w}.bias", (H,), ATTENTION, None
        yield p + "attention.output.dense.weight", (H, H), ATTENTION, None
        yield p + "attention.output.dense.bias", (H,), ATTENTION, None
        yield p + "attention.output.LayerNorm.weight", (H,), NORM, None
        yield p + "attention.output.LayerNorm.bias", (H,), NORM, None
        yield p + "intermediate.dense.weight", (I, H), MLP, None
        yield p + "intermediate.dense.bias", (I,), MLP, None
        yield p + "output.dense.weight", (H, I), MLP, None
        yield p + "output.dense.bias", (H,), MLP, None
        yield p + "output.LayerNorm.weight", (H,), NORM, None
        yield p + "output.LayerNorm.bias", (H,), NORM, None
    if layout.get("pooler"):
        yield t + "pooler.dense.weight", (H, H), LM_HEAD, None
        yield t + "pooler.dense.bias", (H,), LM_HEAD, None
    if layout.get("mlm"):
        yield "cls.predictions.bias", (d.V,), LM_HEAD, None
        yield "cls.predictions.transform.dense.weight", (H, H), LM_HEAD, None
        yield "cls.predictions.transform.dense.bias", (H,), LM_HEAD, None
        yield "cls.predictions.transform.LayerNorm.weight", (H,), LM_HEAD, None
        yield "cls.predictions.transform.LayerNorm.bias", (H,), LM_HEAD, None
        if not d.tied:
            yield "cls.predictions.decoder.weight", (d.V, H), LM_HEAD, None
    if layout.get("nsp"):
        yield "cls.seq_relationship.weight", (2, H), LM_HEAD, None
        yield "cls.seq_relationship.bias", (2,), LM_HEAD, None
    if layout.get("classifier"):
        n = 2 if layout["classifier"] == "qa_outputs" else _labels(d.c)
        yield layout["classifier"] + ".weight", (n, H), LM_HEAD, None
        yield layout["classifier"] + ".bias", (n,), LM_HEAD, None
