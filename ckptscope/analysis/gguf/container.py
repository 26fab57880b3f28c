"""The GGUF container around the tensor data (docs/gguf-size-rules.md §0 and §3).

``file = pad(24 + Σ kv + Σ tensor_info, alignment) + Σ pad(tensor bytes, alignment)``, alignment 32.

The key/value list is built the way ``convert_hf_to_gguf`` + ``llama-quantize`` write it: ``general.*``, the
architecture's hyper-parameters, the tokenizer arrays (tokens, token types, merges or scores: computed exactly from a
:class:`TokenizerInfo` with ``tokens``/``merges``, estimated from the vocabulary size otherwise), special token
ids, the chat template, ``general.file_type``/``quantization_version`` and, with an imatrix, 4 ``quantize.imatrix.*``
keys. Whatever is estimated is said in ``ContainerSize.estimated``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALIGNMENT = 32
HEADER_BYTES = 24  # magic, version u32, n_tensors u64, n_kv u64

# value types: gguf GGUFValueType names -> scalar size
SCALAR = {"u8": 1, "i8": 1, "bool": 1, "u16": 2, "i16": 2, "u32": 4, "i32": 4, "f32": 4, "u64": 8, "i64": 8,
          "f64": 8}

# Estimates used only when the tokenizer files are absent (bytes per entry, the 8-byte length included);
# measured on the Llama-3, Qwen2.5/3 and DeepSeek-V3 tokenizers (16.4-17.9 B/token, 18.0-18.8 B/merge).
EST_TOKEN_BPE = 17.0
EST_TOKEN_SP = 14.0
EST_MERGE = 18.5
EST_CHAT_TEMPLATE = 4000


def pad(n: int, align: int = ALIGNMENT) -> int:
    return (n + align - 1) // align * align


@dataclass
class KV:
    key: str
    vtype: str  #: "u32", "f32", "bool", "str", "arr[str]", "arr[i32]", "arr[f32]"
    value: object = None  #: scalar / str / list; for arrays of known size only ``nbytes`` may be given
    nbytes_override: int | None = None  #: element bytes of an estimated array
    count: int = 0

    @property
    def nbytes(self) -> int:
        n = 8 + len(self.key.encode()) + 4
        if self.vtype == "str":
            return n + 8 + len(str(self.value).encode())
        if self.vtype.startswith("arr["):
            n += 4 + 8
            if self.nbytes_override is not None:
                return n + self.nbytes_override
            et = self.vtype[4:-1]
            vals = self.value or []
            if et == "str":
                return n + sum(8 + len(s.encode("utf-8", "surrogatepass")) for s in vals)
            return n + SCALAR[et] * len(vals)
        return n + SCALAR[self.vtype]


@dataclass
class ContainerSize:
    header: int
    kv: int
    tokenizer_arrays: int
    tensor_infos: int
    padding: int  #: zeros before the data section
    n_kv: int
    estimated: list[str] = field(default_factory=list)
    kvs: list[KV] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.header + self.kv + self.tensor_infos + self.padding


def tensor_info_bytes(name: str, n_dims: int) -> int:
    return 8 + len(name.encode()) + 4 + 8 * n_dims + 4 + 8


def _tokenizer_kind(config, tokenizer) -> str:
    mt = (config.model_type or "") if config is not None else ""
    if tokenizer is not None and tokenizer.model_type:
        t = tokenizer.model_type
        if t == "WordPiece":
            return "bert"
        if t == "Unigram":
            return "t5" if mt in ("t5", "mt5", "umt5") else "llama"
        if t == "BPE" and tokenizer.byte_fallback:
            return "llama"
        return "gpt2"
    if mt == "bert":
        return "bert"
    if mt in ("t5", "mt5", "umt5"):
        return "t5"
    if mt in ("gemma", "gemma2", "gemma3", "gemma3_text") or (
            mt in ("llama", "mistral", "mixtral", "phi3") and (config.vocab_size or 0) <= 32768):
        return "llama"
    return "gpt2"


def tokenizer_kvs(config, tokenizer=None, *, pre: str | None = None, chat_template: str | None = None,
                  special_ids: dict | None = None, flags: dict | None = None) -> tuple[list[KV], list[str]]:
    """The ``tokenizer.*`` keys. Exact when ``tokenizer`` carries ``tokens`` (and ``merges`` for BPE)."""
    est: list[str] = []
    kind = _tokenizer_kind(config, tokenizer)
    n_vocab = (config.vocab_size if config is not None else None) or (tokenizer.id_count if tokenizer else 0)
    kvs = [KV("tokenizer.ggml.model", "str", kind)]
    if kind == "gpt2":
        if pre is None:
            est.append("tokenizer.ggml.pre name assumed 10 characters")
        kvs.append(KV("tokenizer.ggml.pre", "str", pre if pre is not None else "x" * 10))
    toks = tokenizer.tokens if tokenizer is not None else None
    if toks is not None:
        if tokenizer.id_count > n_vocab:
            n_vocab = tokenizer.id_count
        names = [t if t else f"[PAD{i}]" for i, t in enumerate(toks[:n_vocab])]
        names += [f"[PAD{i}]" for i in range(len(names), n_vocab)]
        kvs.append(KV("tokenizer.ggml.tokens", "arr[str]", names))
    elif isinstance(getattr(tokenizer, "tokens_summary", None), dict) and tokenizer.tokens_summary.get("bytes"):
        # A snapshot keeps the count and UTF-8 byte total of the token strings: exact, except that ids the
        # tokenizer leaves empty inside its range would be written as "[PAD<id>]" (rare).
        summ = tokenizer.tokens_summary
        have = min(int(summ.get("count") or 0), n_vocab)
        pads = sum(len(f"[PAD{i}]") for i in range(have, n_vocab))
        kvs.append(KV("tokenizer.ggml.tokens", "arr[str]", count=n_vocab,
                      nbytes_override=8 * n_vocab + int(summ["bytes"]) + pads))
        est.append("token strings from the snapshot's tokenizer summary (count and byte total)")
    else:
        per = EST_TOKEN_BPE if kind == "gpt2" else EST_TOKEN_SP
        kvs.append(KV("tokenizer.ggml.tokens", "arr[str]", nbytes_override=int(per * n_vocab), count=n_vocab))
        est.append(f"token strings estimated at {per} B each for {n_vocab:,} ids (no tokenizer files)")
    if kind in ("llama", "t5"):
        kvs.append(KV("tokenizer.ggml.scores", "arr[f32]", nbytes_override=4 * n_vocab, count=n_vocab))
    kvs.append(KV("tokenizer.ggml.token_type", "arr[i32]", nbytes_override=4 * n_vocab, count=n_vocab))
    if kind == "gpt2":
        merges = tokenizer.merges if tokenizer is not None else None
        msum = getattr(tokenizer, "merges_summary", None)
        if merges is not None:
            kvs.append(KV("tokenizer.ggml.merges", "arr[str]", list(merges)))
        elif isinstance(msum, dict) and msum.get("count"):
            kvs.append(KV("tokenizer.ggml.merges", "arr[str]", count=int(msum["count"]),
                          nbytes_override=8 * int(msum["count"]) + int(msum.get("bytes") or 0)))
        else:
            n_m = 280_147 if n_vocab == 128_256 else n_vocab  # Llama-3's tiktoken BPE has 280,147 merges
            kvs.append(KV("tokenizer.ggml.merges", "arr[str]", nbytes_override=int(EST_MERGE * n_m), count=n_m))
            est.append(f"{n_m:,} merges estimated at {EST_MERGE} B each")
    if special_ids is None:
        special_ids = {}
        if tokenizer is not None:
            for k, key in (("bos_token", "bos"), ("eos_token", "eos"), ("unk_token", "unknown"),
                           ("pad_token", "padding"), ("sep_token", "seperator"), ("cls_token", "cls"),
                           ("mask_token", "mask")):
                if k in tokenizer.special_token_ids:
                    special_ids[key] = tokenizer.special_token_ids[k]
        else:
            special_ids = {"bos": 0, "eos": 0}
            est.append("special token ids assumed: bos and eos")
    for k in special_ids:
        kvs.append(KV(f"tokenizer.ggml.{k}_token_id", "u32", special_ids[k]))
    for k, v in (flags if flags is not None else {"add_bos_token": True}).items():
        kvs.append(KV(f"tokenizer.ggml.{k}", "bool", v))
    if chat_template is None:
        if kind != "bert" and kind != "t5":
            est.append(f"chat template assumed {EST_CHAT_TEMPLATE:,} bytes")
            kvs.append(KV("tokenizer.chat_template", "str", "x" * EST_CHAT_TEMPLATE))
    elif chat_template:
        kvs.append(KV("tokenizer.chat_template", "str", chat_template))
    return kvs, est


def _size_label(n_params: int) -> str:
    for div, suf in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if n_params >= div:
            v = n_params / div
            return f"{v:.0f}{suf}" if v >= 10 else f"{v:.1f}{suf}"
    return str(n_params)


def general_kvs(config, arch: str, n_params: int, general: dict | None = None) -> tuple[list[KV], list[str]]:
    est: list[str] = []
    kvs = [KV("general.architecture", "str", arch), KV("general.type", "str", "model")]
    if general is None:
        name = ""
        if config is not None:
            name = str(config.full.get("_name_or_path") or "").split("/")[-1]
        name = name or (config.architecture if config is not None else "model")
        general = {"general.name": name, "general.basename": name.split("-")[0],
                   "general.size_label": _size_label(n_params), "general.license": "apache-2.0"}
        est.append("general.* strings estimated (name, basename, size label, licence)")
    for k, v in general.items():
        key = k if k.startswith("general.") else f"general.{k}"
        if isinstance(v, list):
            kvs.append(KV(key, "arr[str]", [str(x) for x in v]))
        elif isinstance(v, bool):
            kvs.append(KV(key, "bool", v))
        elif isinstance(v, int):
            kvs.append(KV(key, "u32", v))
        else:
            kvs.append(KV(key, "str", str(v)))
    return kvs, est


def arch_kvs(config, layout) -> list[KV]:
    """The ``{arch}.*`` hyper-parameters the converter writes (types as gguf-py's writer uses them)."""
    a = layout.arch
    c = config
    u = lambda k, v=0: KV(f"{a}.{k}", "u32", v)  # noqa: E731
    f = lambda k, v=0.0: KV(f"{a}.{k}", "f32", v)  # noqa: E731
    kvs = [u("block_count", layout.n_layer), u("context_length", c.max_position_embeddings or 0),
           u("embedding_length", c.hidden_size or 0), u("feed_forward_length", c.intermediate_size or 0),
           u("attention.head_count", layout.n_head), u("attention.head_count_kv", layout.n_head_kv)]
    if a in ("gpt2", "bert", "t5", "gpt-oss", "phi2", "starcoder"):
        kvs.append(f("attention.layer_norm_epsilon") if a != "gpt-oss" else f("attention.layer_norm_rms_epsilon"))
    else:
        kvs.append(f("attention.layer_norm_rms_epsilon"))
    if a not in ("gpt2", "bert", "t5"):
        kvs.append(f("rope.freq_base", c.rope_theta or 10000.0))
    if a in ("llama", "deepseek2", "granite"):
        kvs.append(u("vocab_size", c.vocab_size or 0))
    if a in ("llama", "deepseek2", "phi3", "granite"):
        kvs.append(u("rope.dimension_count", c.head_dim or 0))
    if layout.n_expert:
        kvs += [u("expert_count", layout.n_expert), u("expert_used_count", c.num_experts_per_tok or 0)]
    if a in ("qwen2moe", "qwen3moe", "deepseek2", "gpt-oss"):
        kvs.append(u("expert_feed_forward_length", c.moe_intermediate_size or 0))
    if a == "qwen2moe":
        kvs.append(u("expert_shared_feed_forward_length"))
    if a in ("qwen3", "qwen3moe", "gemma2", "gemma3", "gpt-oss"):
        kvs += [u("attention.key_length"), u("attention.value_length")]
    if a == "deepseek2":
        kvs += [u("leading_dense_block_count"), u("attention.kv_lora_rank"), u("attention.key_length"),
                u("attention.value_length"), u("expert_shared_count"), f("expert_weights_scale"),
                KV(f"{a}.expert_weights_norm", "bool", True), u("expert_gating_func")]
        if c.q_lora_rank:
            kvs.append(u("attention.q_lora_rank"))
        if layout.mla_layout == "split":
            kvs += [u("attention.key_length_mla"), u("attention.value_length_mla")]
    if a in ("gemma2", "gemma3"):
        kvs += [f("attn_logit_softcapping"), f("final_logit_softcapping"), u("attention.sliding_window")]
    if a == "gpt-oss":
        kvs.append(u("attention.sliding_window"))
    if a == "t5":
        kvs += [u("attention.key_length"), u("attention.value_length"), u("attention.relative_buckets_count"),
                u("decoder_start_token_id")]
    if a == "bert":
        kvs += [KV(f"{a}.attention.causal", "bool", False), u("pooling_type")]
    rs = c.rope_scaling or {}
    rtype = rs.get("rope_type") or rs.get("type")
    if rtype in ("yarn", "linear", "dynamic"):
        kvs += [KV(f"{a}.rope.scaling.type", "str", rtype), f("rope.scaling.factor"),
                u("rope.scaling.original_context_length")]
        if rtype == "yarn" and a == "deepseek2":
            kvs.append(f("rope.scaling.yarn_log_multiplier"))
    return kvs


def container_size(tensor_names_dims: list[tuple[str, int]], kvs: list[KV], estimated: list[str]) -> ContainerSize:
    kv = sum(k.nbytes for k in kvs)
    tok = sum(k.nbytes for k in kvs if k.key in ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type",
                                                 "tokenizer.ggml.merges", "tokenizer.ggml.scores"))
    infos = sum(tensor_info_bytes(n, d) for n, d in tensor_names_dims)
    raw = HEADER_BYTES + kv + infos
    return ContainerSize(header=HEADER_BYTES, kv=kv, tokenizer_arrays=tok, tensor_infos=infos,
                         padding=pad(raw) - raw, n_kv=len(kvs), estimated=estimated, kvs=kvs)
