"""A GGUF header as the pipeline's records: tensors (ggml type names as dtypes, HF-order shapes, byte spans), a
:class:`ModelConfig` from the ``{arch}.*`` hyper-parameters, and a :class:`TokenizerInfo` from ``tokenizer.ggml.*``.

Split files (``-00001-of-00003.gguf``, ``split.no`` / ``split.count`` keys) are merged into one model here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .config import ModelConfig, from_dict
from .gguf import ArraySummary, GGUFError, GGUFInfo
from .safetensors import TensorInfo
from .tokenizer import TokenizerInfo

SPLIT_RE = re.compile(r"^(?P<stem>.*)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)

#: llama.cpp architecture names that differ from the HF model_type with the same KV-cache layout
ARCH_TO_MODEL_TYPE = {"qwen2moe": "qwen2_moe", "qwen3moe": "qwen3_moe", "deepseek2": "deepseek_v3",
                      "deepseek": "deepseek", "gpt-oss": "gpt_oss", "command-r": "cohere", "cohere2": "cohere2",
                      "gptneox": "gpt_neox", "starcoder2": "starcoder2", "granitemoe": "granitemoe",
                      "phimoe": "phimoe", "llama4": "llama4", "t5encoder": "t5", "bert": "bert",
                      "nomic-bert": "nomic_bert", "jina-bert-v2": "bert"}


def split_key(name: str) -> tuple[str, int, int] | None:
    """``model-00002-of-00003.gguf`` -> ("model", 2, 3); None for a single file."""
    m = SPLIT_RE.match(name.rsplit("/", 1)[-1])
    if not m:
        return None
    return name[: len(name) - len(m.group(0)) + len(m.group("stem"))], int(m.group("no")), int(m.group("count"))


@dataclass
class GGUFModel:
    """One model: a single GGUF file or a merged split set (``parts`` in split order)."""

    parts: list[GGUFInfo]
    tensors: list[TensorInfo] = field(default_factory=list)
    problems: list[tuple[str, str, str, str | None]] = field(default_factory=list)  #: (code, file, msg, tensor)

    @property
    def first(self) -> GGUFInfo:
        return self.parts[0]

    @property
    def kv(self) -> dict:
        return self.first.kv

    @property
    def vocab_only(self) -> bool:
        return all(not p.tensors for p in self.parts) and "tokenizer.ggml.model" in self.first.kv

    @property
    def truncated(self) -> bool:
        return any(p.truncated for p in self.parts)

    @property
    def file_type(self) -> str | None:
        from ..analysis.gguf.types import FTYPES_BY_ID

        ft = self.kv.get("general.file_type")
        return FTYPES_BY_ID.get(ft, f"ftype{ft}") if isinstance(ft, int) and not isinstance(ft, bool) else None

    @property
    def header_bytes(self) -> int:
        return sum(p.data_offset if p.tensors else p.header_bytes for p in self.parts)

    @property
    def expected_size(self) -> int:
        return sum(p.expected_size for p in self.parts)

    @property
    def tensor_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors)


def build_model(parts: list[GGUFInfo]) -> GGUFModel:
    """Merge the headers of one GGUF model (a single file, or every file of a split set in order)."""
    m = GGUFModel(parts=list(parts))
    seen: dict[str, str] = {}
    for p in parts:
        for code, msg, tensor in p.problems:
            m.problems.append((code, p.file, msg, tensor))
        for t in p.tensors:
            nb = t.nbytes or 0
            if t.name in seen:
                m.problems.append(("GG008", p.file, f"tensor {t.name!r} is also in {seen[t.name]} (duplicate across "
                                                    "split files)", t.name))
                continue
            seen[t.name] = p.file
            m.tensors.append(TensorInfo(t.name, t.type_name, tuple(reversed(t.ne)), p.file, t.offset, t.offset + nb))
    if len(parts) > 1 or "split.count" in parts[0].kv:
        _check_split(m)
    return m


def _check_split(m: GGUFModel) -> None:
    count = m.first.kv.get("split.count")
    n = len(m.parts)
    if isinstance(count, int) and count != n:
        m.problems.append(("GG015", m.first.file, f"split.count is {count} but {n} split file(s) are here", None))
    for i, p in enumerate(m.parts):
        no = p.kv.get("split.no")
        if isinstance(no, int) and no != i:
            m.problems.append(("GG015", p.file, f"split.no is {no}, expected {i} for this file's place in the set",
                               None))
    total = m.first.kv.get("split.tensors.count")
    if isinstance(total, int) and total != len(m.tensors):
        m.problems.append(("GG015", m.first.file, f"split.tensors.count is {total:,} but the split files hold "
                                                  f"{len(m.tensors):,} tensors", None))


def _num(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, list) and v and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
        return max(v)  # per-layer values (OpenELM, Gemma-3n...): the largest
    return None


def to_config(m: GGUFModel) -> ModelConfig | None:
    """config.json's fields from the GGUF hyper-parameters (``{arch}.block_count`` ...); None without an arch."""
    kv = m.kv
    arch = kv.get("general.architecture")
    if not isinstance(arch, str) or not arch:
        return None

    def g(key):
        return _num(kv.get(f"{arch}.{key}"))

    names = {t.name for t in m.tensors}
    d: dict = {"model_type": ARCH_TO_MODEL_TYPE.get(arch, arch.replace("-", "_")), "gguf_architecture": arch,
               "architectures": [f"gguf:{arch}"]}
    pairs = {"hidden_size": "embedding_length", "num_hidden_layers": "block_count",
             "num_attention_heads": "attention.head_count", "num_key_value_heads": "attention.head_count_kv",
             "head_dim": "attention.key_length", "v_head_dim_gguf": "attention.value_length",
             "intermediate_size": "feed_forward_length", "max_position_embeddings": "context_length",
             "rope_theta": "rope.freq_base", "sliding_window": "attention.sliding_window",
             "num_experts": "expert_count", "num_experts_per_tok": "expert_used_count",
             "n_shared_experts": "expert_shared_count", "moe_intermediate_size": "expert_feed_forward_length",
             "first_k_dense_replace": "leading_dense_block_count", "q_lora_rank": "attention.q_lora_rank",
             "kv_lora_rank": "attention.kv_lora_rank", "num_nextn_predict_layers": "nextn_predict_layers"}
    for hf, key in pairs.items():
        v = g(key)
        if v is not None:
            d[hf] = v
    if d.get("num_nextn_predict_layers") and d.get("num_hidden_layers"):
        d["num_hidden_layers"] -= d["num_nextn_predict_layers"]  # block_count includes the MTP blocks
    vocab = g("vocab_size")
    toks = kv.get("tokenizer.ggml.tokens")
    if vocab is None and toks is not None:
        vocab = toks.count if isinstance(toks, ArraySummary) else len(toks) if isinstance(toks, list) else None
    emb = next((t for t in m.tensors if t.name == "token_embd.weight"), None)
    if vocab is None and emb is not None and len(emb.shape) == 2:
        vocab = emb.shape[0]
    if vocab is not None:
        d["vocab_size"] = vocab
    if d.get("kv_lora_rank"):  # MLA: llama.cpp keeps the rope part in rope.dimension_count
        rd = g("rope.dimension_count")
        if rd is not None:
            d["qk_rope_head_dim"] = rd
        kl = g("attention.key_length_mla") or g("attention.key_length")
        if kl is not None and rd is not None:
            d["qk_nope_head_dim"] = kl - rd
        vl = g("attention.value_length_mla") or g("attention.value_length")
        if vl is not None:
            d["v_head_dim"] = vl
    st = kv.get(f"{arch}.rope.scaling.type")
    if isinstance(st, str) and st not in ("none", ""):
        rs = {"rope_type": st}
        for k, hf in (("rope.scaling.factor", "factor"),
                      ("rope.scaling.original_context_length", "original_max_position_embeddings")):
            v = g(k)
            if v is not None:
                rs[hf] = v
        d["rope_scaling"] = rs
    if m.tensors:
        d["tie_word_embeddings"] = "output.weight" not in names
    d["torch_dtype"] = "float16"  # llama.cpp's default KV-cache type (f16); the planner's "auto"
    cfg = from_dict(d, f"{m.first.file} (GGUF metadata)")
    return cfg


def to_tokenizer(m: GGUFModel) -> TokenizerInfo | None:
    kv = m.kv
    toks = kv.get("tokenizer.ggml.tokens")
    if toks is None:
        return None
    n = toks.count if isinstance(toks, ArraySummary) else len(toks) if isinstance(toks, list) else 0
    model = kv.get("tokenizer.ggml.model")
    mt = {"gpt2": "BPE", "llama": "BPE", "bert": "WordPiece", "t5": "Unigram", "rwkv": "RWKV"}.get(model, model)
    if model == "llama":
        mt = "BPE"  # SentencePiece BPE with byte fallback
    info = TokenizerInfo(source=f"{m.first.file} (tokenizer.ggml.*)", model_type=mt, base_vocab_size=n,
                         vocab_size=n, max_id=n - 1, byte_fallback=model == "llama")
    merges = kv.get("tokenizer.ggml.merges")
    if merges is not None:
        info.num_merges = merges.count if isinstance(merges, ArraySummary) else len(merges)
    vals = toks.values if isinstance(toks, ArraySummary) else toks if isinstance(toks, list) else None
    if vals is not None:
        info.tokens = vals
    for k, v in kv.items():
        if k.startswith("tokenizer.ggml.") and k.endswith("_token_id") and isinstance(v, int) and not isinstance(v, bool):
            role = k[len("tokenizer.ggml."):-len("_token_id")]
            info.special_token_ids[role] = v
            if vals is not None and 0 <= v < len(vals):
                info.special_tokens[role] = vals[v]
    return info


def refuse(m: GGUFModel, *, inspect: bool = True) -> GGUFError | None:
    """The first problem ``inspect`` refuses the model for (truncation and token-list UTF-8 are reported)."""
    from .gguf import NOT_FATAL_IN_INSPECT

    for code, file, msg, tensor in m.problems:
        if inspect and code in NOT_FATAL_IN_INSPECT:
            continue
        return GGUFError(code, msg, file, tensor)
    return None
