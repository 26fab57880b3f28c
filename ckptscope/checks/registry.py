"""The rule registry: every check has a stable id, a severity, a default (on/off), a one-line summary and a fix.

Rule ids never change meaning once published; new checks get new ids. The two-letter prefix names the group
(ST integrity, IX index vs shards, MD metadata, PK pickles, CF config vs tensors, RC reconciliation with the
architecture rules, TK tokenizer). ``--select ST`` picks a whole group, ``--select ST011`` one rule.
"""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str  #: default severity: "error", "warning" or "info"
    summary: str  #: what the rule detects, one line
    fix: str  #: what to do about it, one line
    default: bool = True  #: run without being selected
    group: str = ""

    def to_dict(self) -> dict:
        return {"id": self.id, "severity": self.severity, "summary": self.summary, "fix": self.fix,
                "default": self.default, "group": self.group}


GROUPS = {
    "ST": "safetensors integrity",
    "IX": "index vs shards",
    "MD": "metadata files",
    "PK": "pickle and legacy formats",
    "CF": "config vs tensors",
    "RC": "architecture reconciliation",
    "TK": "tokenizer",
    "KD": "repo kinds (Diffusers, Sentence Transformers, PEFT, ONNX)",
    "GG": "GGUF (what llama.cpp's loader refuses)",
}

RULES: dict[str, Rule] = {}


def rule(id: str, severity: str, summary: str, fix: str, default: bool = True) -> Rule:
    assert severity in SEVERITIES and id not in RULES, id
    r = Rule(id, severity, summary, fix, default, GROUPS[id[:2]])
    RULES[id] = r
    return r


_REEXPORT = "re-export with the safetensors library (safetensors.torch.save_file / save_pretrained)"

# --- safetensors integrity (the reader's problem codes, reused as rule ids) ---
rule("ST000", "error", "file cannot be read", "check the file's permissions and that it is fully downloaded")
rule("ST001", "error", "file too short for the 8-byte header length", "the file is truncated: upload it again")
rule("ST002", "error", "header length out of bounds", "the file is truncated or not safetensors: " + _REEXPORT)
rule("ST003", "error", "header is not a valid JSON object", _REEXPORT)
rule("ST004", "error", "tensor entry malformed (dtype, shape or data_offsets)", _REEXPORT)
rule("ST005", "error", "unknown dtype", "store the tensor in a dtype safetensors defines")
rule("ST006", "error", "bad shape (negative, non-integer or overflowing dimension)", _REEXPORT)
rule("ST007", "error", "byte span does not equal dtype size x element count", _REEXPORT)
rule("ST008", "error", "data offsets run past the end of the file", "the file is truncated: upload it again")
rule("ST009", "error", "tensors overlap or leave gaps in the data region", _REEXPORT)
rule("ST010", "error", "data region does not match the file size", "trailing bytes after the last tensor: " + _REEXPORT)
rule("ST011", "error", "file is a git-LFS pointer, not data",
     "run `git lfs pull` (actions/checkout: `lfs: true`), or upload the real file with git-lfs")
rule("ST012", "error", "weight file is empty (0 bytes)", "upload the real file")
rule("ST013", "error", "duplicate tensor name in one header", _REEXPORT)

# --- index vs shards ---
rule("IX001", "error", "index lists a tensor that no shard holds",
     "re-save the checkpoint, or remove the entry from weight_map")
rule("IX002", "error", "tensor stored in two shards", "keep each tensor in exactly one shard and re-save")
rule("IX003", "warning", "tensor in a shard but not listed in the index", "regenerate the index (save_pretrained)")
rule("IX004", "error", "index names the wrong shard for a tensor", "regenerate the index (save_pretrained)")
rule("IX005", "error", "index names a shard file that is not in the repository", "upload the missing shard")
rule("IX006", "warning", "index metadata.total_size differs from the tensor bytes in the shards",
     "set metadata.total_size to the sum of the tensors' byte sizes (save_pretrained does)")
rule("IX007", "warning", "same tensor name in several unindexed safetensors files",
     "keep one copy, or add a model.safetensors.index.json that says which file is the model")
rule("IX008", "warning", "index names shards but none is present (metadata-only copy?)",
     "upload the shards, or ignore IX008 when checking metadata alone")
rule("IX009", "warning", "safetensors file beside an index that does not reference it (stale shard?)",
     "delete the stale file, or regenerate the index")

# --- metadata files ---
rule("MD001", "error", "metadata file does not parse", "fix the JSON (config.json, generation_config.json, "
     "index, tokenizer files) so that `json.load` and transformers accept it")
rule("MD002", "error", "index names a path outside the repository (`..` or absolute)",
     "use plain file names relative to the repository root")
rule("MD003", "warning", "weights without a config.json", "add the model's config.json (save_pretrained writes it)")
rule("MD010", "error", "metadata file refused: not a regular file, over its size limit, or a symlink leaving the "
     "checkout", "commit the real file (a regular file inside the repository, of a sane size)")

# --- pickles ---
rule("PK001", "error", "pickle imports a known gadget or uses a construct that runs code on load",
     "do not publish or load this file; convert trusted weights to safetensors")
rule("PK002", "error", "pickle imports globals outside the allow-list (loading it imports and may call them)",
     "convert to safetensors; if you trust the file, allow a name with --allow-global module.name")
rule("PK003", "warning", "pickle-based weights and no safetensors weights",
     "convert to safetensors (e.g. the `convert` Space, or save_pretrained(safe_serialization=True))")
rule("PK004", "info", "pickle-based weights beside safetensors weights",
     "delete the legacy .bin/.pt files once the safetensors weights are verified")
rule("PK005", "error", "pickle-based file could not be verified to its end (malformed, truncated, encrypted, "
     "inconsistent archive, over a limit)",
     "treat it as unsafe; convert trusted weights to safetensors")
rule("PK006", "info", "a global allowed on the command line (--allow-global) was imported",
     "keep the list of allowed globals short and reviewed")
rule("PK007", "warning", "the repository's own settings try to disable or downgrade a PK rule (ignored)",
     "remove PK rules from the repository's ignore/select/severity; only the command line can change them")

# --- config vs tensors ---
rule("CF020", "error", "config.json field that sizes the model is of the wrong type, negative, out of bounds or "
     "inconsistent", "fix the field in config.json (bounds: ckptscope/readers/validate_config.py)")
rule("CF001", "warning", "config torch_dtype differs from the dtype the weights are stored in",
     "set torch_dtype in config.json to the stored dtype (or re-save the weights in that dtype)")
rule("CF002", "error", "tie_word_embeddings is false but there is no LM head tensor",
     "save lm_head.weight, or set tie_word_embeddings to true")
rule("CF003", "warning", "tie_word_embeddings is true but an LM head tensor is stored (it is ignored)",
     "drop lm_head.weight from the checkpoint, or set tie_word_embeddings to false")
rule("CF004", "error", "number of experts in the tensors differs from the config",
     "make num_experts / n_routed_experts match the stored experts")
rule("CF005", "error", "embedding rows differ from config vocab_size", "set vocab_size to the embedding's row count")
rule("CF006", "error", "layers named in config.json are missing from the tensors",
     "upload the missing layers or fix num_hidden_layers")
rule("CF007", "warning", "tensors for layers beyond num_hidden_layers", "fix num_hidden_layers or drop the extra layers")

# --- reconciliation with the architecture rules ---
rule("RC001", "error", "tensor the architecture expects is missing", "upload the tensor or fix config.json")
rule("RC002", "warning", "tensor the architecture does not expect", "check config.json; the tensor is ignored on load")
rule("RC003", "error", "tensor shape differs from the one the config implies", "fix config.json or the weights")
rule("RC004", "warning", "tensor dtype differs from the one expected", "check torch_dtype and the quantization config")
rule("RC005", "info", "no architecture rules for this model: tensors not reconciled", "", default=False)

# --- tokenizer ---
rule("TK001", "error", "tokenizer produces ids with no embedding row",
     "resize the embeddings (resize_token_embeddings) or remove the extra tokens")
rule("TK002", "error", "special token id out of range", "fix the *_token_id fields in config.json / generation_config.json")
rule("TK003", "warning", "special token in tokenizer_config.json is not in the vocabulary",
     "add the token to the tokenizer or fix tokenizer_config.json")
rule("TK004", "error", "tokenizer.json and tokenizer_config.json give one id different added tokens",
     "re-save the tokenizer with save_pretrained so both files agree")
rule("TK005", "warning", "added token in one of tokenizer.json / tokenizer_config.json but not the other",
     "re-save the tokenizer with save_pretrained so both files agree")
rule("TK006", "info", "embedding has padding rows beyond the tokenizer's ids (fine)", "", default=False)


# --- repo kinds (ckptscope.kinds) ---
rule("KD001", "error", "a component listed in model_index.json has no weights",
     "upload the component's weights (save_pretrained of the pipeline), or set it to [null, null]")
rule("KD002", "error", "weight variants of one component disagree in tensor names or shapes",
     "re-save every variant from the same model (save_pretrained(variant=...))")
rule("KD003", "error", "a module listed in modules.json is missing or has no weights",
     "upload the module folder (SentenceTransformer.save writes it)")
rule("KD004", "error", "a Dense module's weight shape differs from its config.json",
     "fix in_features/out_features in the module's config.json, or re-save the model")
rule("KD010", "error", "LoRA ranks in the adapter tensors differ from adapter_config.json",
     "set r (or rank_pattern) to the rank the tensors have, or re-save the adapter")
rule("KD011", "error", "adapter tensor shapes do not fit the base model named in adapter_config.json",
     "point base_model_name_or_path at the model the adapter was trained on")
rule("KD020", "error", "ONNX model file cannot be parsed", "re-export the model (onnx.save_model / optimum)")
rule("KD021", "error", "ONNX external data file missing, outside the repository or too short",
     "upload the external data file next to model.onnx (onnx.save_model(save_as_external_data=True))")
rule("KD030", "info", "base model config not read: the adapter is not reconciled", "", default=False)


def expand(spec: list[str] | None) -> set[str]:
    """Rule ids named by ``spec`` entries: full ids, prefixes (``ST``, ``ST01``) or ``ALL``. Raises KeyError."""
    out: set[str] = set()
    for s in spec or []:
        s = s.strip().upper()
        if not s:
            continue
        if s == "ALL":
            out.update(RULES)
            continue
        hit = {r for r in RULES if r.startswith(s)}
        if not hit:
            raise KeyError(s)
        out.update(hit)
    return out

# --- GGUF: the reader's problem codes (readers/gguf.py PROBLEMS), what llama.cpp's gguf.cpp loader refuses ---
_RECONVERT = "convert or quantize the model again with a current llama.cpp (convert_hf_to_gguf.py, llama-quantize)"


def _gguf_rules() -> None:
    from ..readers.gguf import PROBLEMS as _GG

    fixes = {"GG001": "this is not a GGUF file: upload the real file (a git-LFS pointer? run `git lfs pull`)",
             "GG012": "the file is truncated: upload it again (header extracts are truncated by design)",
             "GG014": "re-export the tokenizer; token strings should be UTF-8",
             "GG015": "upload every file of the split set (llama-gguf-split --merge to check it)"}
    for rid, summary in _GG.items():
        rule(rid, "warning" if rid == "GG014" else "error", summary, fixes.get(rid, _RECONVERT))


_gguf_rules()
