"""Engine profiles: what each serving / training engine loads, in which dtype, what it allocates per forward pass,
how it stores the KV cache and what it costs to run, kept as data with a source for every number.

The planner reads one profile and never branches on an engine's name (design.md: "Engines are data"). Each
field below is documented once in :data:`FIELDS`; each profile carries ``sources`` naming the file (and, where it
matters, the function) in the engine's own code that the value was read from.
"""

from __future__ import annotations

MiB = 2**20
GiB = 2**30

#: what every profile field means (printed by `ckptscope estimate --engine X --json` under engine.fields)
FIELDS = {
    "loads_mtp": "multi-token-prediction layers are built and loaded (speculative decoding heads)",
    "loads_vision": "a vision / audio tower in the checkpoint is loaded with the language model",
    "dtype": "runtime weight dtype when --dtype is not given: 'config' = config.json torch_dtype/dtype, else the "
             "checkpoint's own float dtype, else fp32; fp32_to = what an fp32 result is turned into (None: kept)",
    "logits": "'all' = the forward pass computes logits for every prompt position, 'last' = only for the positions "
              "it samples from (one per sequence)",
    "logit_bytes": "bytes per logit value ('act' = the activation dtype, 4 = fp32)",
    "prefill_chunk": "tokens per forward pass during prefill (0 = the whole prompt at once)",
    "kv_storage": "'dynamic' = exactly the tokens seen so far (torch.cat per layer), 'paged' = a pool of fixed-size "
                  "blocks sized from a memory fraction, 'ring' = a preallocated n_ctx-token buffer",
    "kv_block_tokens": "tokens per KV block (paged storage), rounded up per sequence",
    "memory_fraction": "fraction of the GPU the engine takes for weights + activations + KV pool (paged storage)",
    "cuda_graph_bytes": "memory kept by captured CUDA graphs (decode batches), per GPU",
    "library_workspace": "bytes the engine's math libraries allocate from the framework allocator on first use, "
                         "per thread that runs matrix multiplies (inference: 1; training: 2 with autograd's thread)",
    "overhead": "memory outside the framework allocator: CUDA context, kernels, NCCL, allocator slack",
    "eager_attention": "model families the engine runs with eager attention (a full score matrix per layer)",
    "sliding_kv_after_prefill": "what sliding-window layers hold right after a prefill: 'full' (the whole "
                                "prompt) or 'window'",
    "rotary_buffers": "the rotary embedding's non-persistent inv_freq buffers are allocated on the GPU",
    "explicit_sliding_mask": "sliding-window layers past the window get an explicit mask (not a fused kernel)",
    "unloaded_tensors": "checkpoint tensors (regular expressions on names) the engine does not load",
    "moe_dispatch": "how MoE layers gather tokens for their experts: transformers (grouped_mm token copies) or "
                    "fused (fused-MoE kernels)",
    "allocator_block": "the framework allocator hands out blocks rounded up to this many bytes, and its peak "
                       "counter (torch.cuda.max_memory_allocated) counts the rounded size: every weight, gradient "
                       "and optimizer-state tensor is rounded up (0 = not modelled)",
    "attention_lse": "bytes per query position per head the fused attention kernel keeps for backward (its fp32 "
                     "log-sum-exp; training only: a no-grad forward frees it at once)",
    "rotary_cos_sin_cache": "the rotary embedding keeps a [max_position_embeddings, rotary_dim] cos/sin table in the "
                            "weight dtype on the GPU (one per distinct rotary configuration), counted with the weights",
    "kv_pool_rule": "how the paged KV pool is sized: 'profile' = memory_fraction x GPU total - weights - the profile "
                    "run's peak activations - non-torch memory (vLLM); 'static' = memory_fraction x GPU total - "
                    "weights - non-torch memory, activations and CUDA graphs living in the rest (SGLang)",
    "kv_layer_groups": "'uniform_page': layers of different attention kinds (sliding / full) share one block pool "
                       "in equal-sized groups, padded with empty layers (vLLM hybrid KV manager); None: one group",
    "tp_overhead": "memory outside the allocator added once more than one GPU serves one model (NCCL / custom "
                   "all-reduce buffers), per GPU",
    "sampler_warmup": "the engine runs its sampler once at start-up on `seqs` dummy sequences: seqs x vocab logits "
                      "of `bytes_per_logit` bytes each at the peak (one of the forward-pass moments)",
    "activation_bytes": "bytes per activation value in the forward pass when it differs from the weight dtype (ggml "
                        "computes in fp32); None = the weight dtype's",
    "softcap_copies": "logit tensors alive at once under final_logit_softcapping (2: divide / tanh / multiply make "
                      "copies; 1: done in place)",
    "gqa_max_head_dim": "largest head_dim the engine runs grouped-query attention at without repeating K/V to every "
                        "query head (above it, or when K and V head dims differ, K/V are expanded per layer)",
}

PROFILES: dict[str, dict] = {
    "transformers": {
        "title": "Hugging Face transformers 5.x with PyTorch (AutoModelForCausalLM + model(...) / Trainer loop)",
        "loads_mtp": False,
        "loads_vision": True,
        "dtype": {"rule": "config", "fp32_to": None},
        "logits": "all",
        "logit_bytes": "act",
        "prefill_chunk": 0,
        "kv_storage": "dynamic",
        "kv_block_tokens": 1,
        "memory_fraction": None,
        "kv_pool_rule": None,
        "kv_layer_groups": None,
        "cuda_graph_bytes": 0,
        "library_workspace": 32 * MiB,
        "overhead": 1 * GiB,
        "tp_overhead": GiB // 2,
        "sampler_warmup": None,
        "rotary_cos_sin_cache": False,
        "activation_bytes": None,
        "softcap_copies": 2,
        "moe_dispatch": "transformers",
        "allocator_block": 512,
        "attention_lse": 4,
        "gqa_max_head_dim": 256,
        "sliding_kv_after_prefill": "full",
        "rotary_buffers": True,
        "explicit_sliding_mask": True,
        "unloaded_tensors": [r"(^|\.)h\.\d+\.(attn|crossattention)\.(bias|masked_bias)$"],
        "eager_attention": ("gemma2", "gpt_oss", "vaultgemma", "t5gemma", "gemma4", "granite_swa", "granitemoe_swa",
                            "mimo_v2_flash", "deepseek_v4"),
        "sources": [
            "rotary_buffers: modeling_llama.py LlamaRotaryEmbedding registers inv_freq and original_inv_freq "
            "(fp32, persistent=False)",
            "explicit_sliding_mask: masking_utils.py sdpa_mask: once the keys pass the window, is_causal cannot "
            "express the mask, so a boolean [batch, 1, queries, keys] mask is built and passed to SDPA",
            "sliding_kv_after_prefill: transformers/cache_utils.py DynamicSlidingWindowLayer.update returns the "
            "full keys of a prefill and keeps a view of them, so the whole prompt's K/V stay allocated until the "
            "next step (measured: docs/validation.md, 'KV cache after prefill (storage)')",
            "unloaded_tensors: modeling_gpt2.py (5.x) registers no attn.bias / masked_bias causal-mask buffers and "
            "lists them in _keys_to_ignore_on_load_unexpected: the F32 [1, 1, n_positions, n_positions] tensors "
            "in GPT-2 checkpoints are not loaded",
            "eager_attention: these families declare `_supports_sdpa = False` in their modeling_*.py (5.23; "
            "Gemma-2: 'sdpa does not support softcapping'), so without flash-attn installed they run "
            "eager_attention_forward, which materialises the heads x queries x keys scores",
            "loads_mtp: transformers/models/deepseek_v3/modeling_deepseek_v3.py builds config.num_hidden_layers "
            "decoder layers only; the checkpoint's layer 61 (num_nextn_predict_layers) is left unloaded",
            "dtype: transformers/modeling_utils.py from_pretrained: `if dtype is None: dtype = \"auto\"` (5.x), and "
            "'auto' reads config.json dtype/torch_dtype, else the first floating-point weight of the checkpoint",
            "logits: transformers/models/llama/modeling_llama.py (5.23) LlamaForCausalLM.forward: logits_to_keep=0 "
            "by default (line 436), `hidden_states = slice_logits_to_keep(hidden_states, logits_to_keep)` (0 keeps "
            "every position) and `logits = self.lm_head(hidden_states)` (467-468), in the activation dtype with no "
            ".float(); only with labels does loss/loss_utils.py ForCausalLMLoss upcast (`logits = logits.float()`, "
            "line 61) and it shifts the labels by padding (line 65), not the logits; only generate() passes "
            "logits_to_keep=1",
            "logits, soft-capping: transformers/models/gemma2/modeling_gemma2.py: final_logit_softcapping divides, "
            "tanh's and multiplies the logits, two [tokens, vocab] tensors alive at once",
            "kv_storage: transformers/cache_utils.py DynamicLayer.update: torch.cat of the new keys/values, no "
            "preallocation",
            "prefill_chunk: one model(input_ids) call processes the whole prompt",
            "library_workspace: pytorch aten/src/ATen/cuda/CublasHandlePool.cpp parseChosenWorkspaceSize: 4096 KiB "
            "x 8 = 32 MiB when properties->major is 9 (Hopper: H100/H200) or 10/12 (8.125 MiB = :4096:2:16:8 on "
            "older GPUs), allocated by getNewWorkspace through CUDACachingAllocator, one per thread (the workspace "
            "map is thread_local, keyed by device and stream), so torch.cuda.memory_allocated counts it; cuBLASLt "
            "reuses it (unified_cublas_and_lt_workspaces: TORCH_CUBLASLT_UNIFIED_WORKSPACE unset = unified; torch "
            "2.13 torch/backends/cuda/__init__.py:389-393 'physically reuses the same allocation'), so no extra "
            "1 MiB Lt workspace. Derived from source, not measured (no GPU lent)",
            "allocator_block: c10/cuda/CUDACachingAllocator.cpp: round_size() rounds every request up to "
            "kMinBlockSize = 512 bytes and malloc() adds block->size (the rounded size) to stats.allocated_bytes, "
            "the counter max_memory_allocated reads (derived from source)",
            "attention_lse: transformers/integrations/sdpa_attention.py (5.23) passes is_causal=True with no mask at "
            "batch 1 (masking_utils._ignore_causal_mask_sdpa skips the mask) and enable_gqa=True "
            "(use_gqa_in_sdpa: no mask and head_dim <= 256), so CUDA SDPA on sm90 bf16 takes the flash kernel: "
            "out + softmax_lse [batch, heads, queries] fp32, saved for backward; MLA (q/k head dim 192 != v 128) "
            "fails flash's equal-head-dim check and takes the memory-efficient kernel (logsumexp [batch, heads, "
            "queries rounded to 32] fp32): no score matrix either way (derived from source)",
            "gqa_max_head_dim: transformers/integrations/sdpa_attention.py use_gqa_in_sdpa: `attention_mask is None "
            "and key.shape[-1] == value.shape[-1] <= 256`; otherwise repeat_kv expands K and V to every query head",
            "moe_dispatch: transformers/modeling_utils.py get_correct_experts_implementation: 'grouped_mm' when "
            "none is requested (5.23 default, on any device); integrations/moe.py _can_use_grouped_mm: "
            "torch.nn.functional.grouped_mm on CUDA sm80+ (and on CPU with torch > 2.10), so the CPU measurement "
            "runs the same Python path as CUDA (routing sort, gathered hidden states, grouped_mm outputs)",
            "from_pretrained(device_map=...) caching_allocator_warmup (modeling_utils.py, 5.23): one fp16 tensor "
            "of the summed parameter bytes (tied weights once, non-persistent buffers not included, capped at "
            "total memory - 1.2 GiB), freed before the weights are copied into its cached segment: its peak is "
            "at most the weights' own, so a plain script's max_memory_allocated is unchanged (no term)",
            "tp_overhead: NCCL buffers once more than one GPU serves the model: 0.5 GiB stated, not measured",
            "overhead: CUDA context + cuBLAS/cuDNN kernels outside the caching allocator, about 0.5 GiB on "
            "Hopper with CUDA 12/13, plus allocator fragmentation: 1 GiB stated, not measured",
        ],
    },
    "vllm": {
        "title": "vLLM (V1 engine) serving",
        "loads_mtp": False,
        "loads_vision": True,
        "dtype": {"rule": "config", "fp32_to": "bf16"},
        "logits": "last",
        "logit_bytes": 4,
        "prefill_chunk": 8192,
        "kv_storage": "paged",
        "kv_block_tokens": 16,
        "memory_fraction": 0.9,
        "kv_pool_rule": "profile",
        "kv_layer_groups": "uniform_page",
        "cuda_graph_bytes": int(0.8 * GiB),
        "library_workspace": 32 * MiB,
        "overhead": int(0.25 * GiB),
        "tp_overhead": int(1.85 * GiB),
        "sampler_warmup": {"seqs": 1024, "bytes_per_logit": 16},
        "rotary_cos_sin_cache": True,
        "activation_bytes": None,
        "softcap_copies": 2,
        "moe_dispatch": "fused",
        "allocator_block": 512,
        "attention_lse": 0,
        "gqa_max_head_dim": None,
        "sliding_kv_after_prefill": "window",
        "unloaded_tensors": [r"\.attn\.(bias|masked_bias)$"],
        "sources": [
            "loads_mtp: vllm/model_executor/models/deepseek_v2.py loads layers < num_hidden_layers; the MTP layer "
            "is a separate model (deepseek_mtp.py) loaded only with --speculative-config",
            "dtype: vllm/config/model.py _get_and_verify_dtype: dtype 'auto' takes the config dtype, but an fp32 "
            "config is served in bf16 (fp16 where bf16 is unsupported)",
            "logits: vllm/v1/worker/gpu_model_runner.py: compute_logits on the hidden states of the sampled "
            "positions only (logits_indices), fp32",
            "prefill_chunk: vllm/config/scheduler.py max_num_batched_tokens default 8192 with chunked prefill "
            "(V1, online serving); the profile run (gpu_model_runner.profile_run) uses that many tokens. Logged: "
            "'Chunked prefill is enabled with max_num_batched_tokens=8192' (docs/validation.md, engine logs)",
            "kv_storage / kv_block_tokens: vllm/config/cache.py block_size 16; logged 'GPU KV cache size: N tokens' "
            "is always a multiple of 16 and equals floor(available KV memory / (16 x bytes per token)) x 16 in 9 of "
            "9 third-party v0.19.0 logs (fixtures/engine_logs)",
            "kv_pool_rule 'profile': vllm/v1/worker/gpu_worker.py determine_available_memory (v0.19.0 log lines "
            "'Requested memory: 0.950000 (util), 75.23 GiB', 'Total non KV cache memory = torch peak memory "
            "increase + non-torch forward increase memory + weights memory', 'Available KV cache memory' = the "
            "difference): requested = gpu_memory_utilization x torch total_memory (79.19 GiB on an H100 80GB HBM3)",
            "memory_fraction: vllm/config/cache.py gpu_memory_utilization default 0.9 (--memory-fraction to "
            "match a launch)",
            "cuda_graph_bytes: v0.19.0 logs 'Estimated CUDA graph memory: 0.52-0.84 GiB total' (51 PIECEWISE + 51 "
            "FULL graphs up to 512 tokens, 2-9B models): 0.8 GiB; with VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0 "
            "(the v0.19.0 default, printed in the env dump) it is NOT subtracted from the KV pool: graphs are "
            "captured after the pool is allocated, inside the 1 - gpu_memory_utilization margin",
            "overhead: v0.19.0 logs 'non-torch forward increase memory: 0.24-0.25GiB' at tp 1 (9 of 9 logs)",
            "tp_overhead: llm-d-planner accuracy_report.md (v0.19.0, H100): non-torch 2.07 GiB at tp 2 and 2.13 GiB "
            "at tp 4 for Llama-3.1-8B (2.06 / 2.13 for Qwen2.5-7B) vs 0.25 at tp 1: + 1.85 GiB with tp > 1",
            "sampler_warmup: vllm/v1/worker/gpu_model_runner.py _dummy_sampler_run runs the sampler on max_num_seqs "
            "dummy rows (logged 'Defaulting max_num_seqs to 1024 for OPENAI_API_SERVER usage context'); the "
            "PyTorch top-k/top-p path (FlashInfer sampling 'disabled by default', logged) keeps fp32 logits (4 B) "
            "and their sort: fp32 values (4 B) + int64 indices (8 B) = 16 B per logit (derived). Logged 'torch peak "
            "memory increase' 3.62-3.65 GiB for Gemma-2 (vocab 256,000) at 2B and 9B, i.e. set by the vocabulary "
            "not the width: the sampler, not the 8192-token forward, is the activation peak. Not divided by tp: the logits "
            "are gathered to the whole vocabulary first (llm-d-planner accuracy_report.md: 1.89 GiB at tp 1, 2 and 4 "
            "for Llama-3.1-8B, 2.21 GiB at tp 1, 2 and 4 for Qwen2.5-7B)",
            "kv_layer_groups: vllm/v1/core/kv_cache_utils.py (v0.19) groups sliding and full-attention layers "
            "into equal groups; logged for Gemma-3-4B (29 sliding + 5 full): 'Add 1 padding layers, may waste at "
            "most 3.45% KV cache memory' (1 / 29) and 'GPU KV cache size: 468,144 tokens' = 62.51 GiB / (35 layers x "
            "4,096 B); Gemma-2 (21 + 21) needs no padding",
            "rotary_cos_sin_cache: vllm/model_executor/layers/rotary_embedding base.py registers cos_sin_cache "
            "[max_position_embeddings, rotary_dim] in the model dtype; logged 'Model loading took 14.99 GiB' for "
            "Llama-3.1-8B = 8,030,261,248 x 2 B (14.957 GiB) + 131,072 x 128 x 2 B (0.031 GiB); linear / dynamic "
            "rope_scaling builds max_position x factor rows (LinearScalingRotaryEmbedding), YaRN original_max x "
            "factor: Gemma-3-4B's global table is 131,072 x 8 x 256 x 2 B = 512 MiB, logged 'weights memory: "
            "8.58GiB' = 8.01 GiB of parameters + 0.5625 GiB of cos/sin tables",
            "moe_dispatch: vllm/model_executor/layers/fused_moe/fused_moe.py intermediate caches",
            "allocator_block: PyTorch's CUDACachingAllocator rounds each block to 512 bytes (as for transformers)",
        ],
    },
    "sglang": {
        "title": "SGLang serving",
        "loads_mtp": False,
        "loads_vision": True,
        "dtype": {"rule": "config", "fp32_to": "bf16"},
        "logits": "last",
        "logit_bytes": 4,
        "prefill_chunk": 8192,
        "kv_storage": "paged",
        "kv_block_tokens": 1,
        "memory_fraction": 0.88,
        "kv_pool_rule": "static",
        "kv_layer_groups": None,
        "cuda_graph_bytes": int(0.5 * GiB),
        "library_workspace": 32 * MiB,
        "overhead": int(0.5 * GiB),
        "tp_overhead": GiB // 2,
        "sampler_warmup": None,
        "rotary_cos_sin_cache": True,
        "activation_bytes": None,
        "softcap_copies": 2,
        "moe_dispatch": "fused",
        "allocator_block": 512,
        "attention_lse": 0,
        "gqa_max_head_dim": None,
        "sliding_kv_after_prefill": "window",
        "unloaded_tensors": [r"\.attn\.(bias|masked_bias)$"],
        "sources": [
            "loads_mtp: sglang/srt/models/deepseek_v2.py; the NextN layer is deepseek_nextn.py, loaded only with "
            "--speculative-algorithm EAGLE/NEXTN",
            "dtype: sglang/srt/configs/model_config.py _get_and_verify_dtype (from vLLM): fp32 configs served in "
            "bf16",
            "logits: sglang/srt/layers/logits_processor.py: prefill computes logits of the last token per "
            "sequence unless return_logprob asks for more, fp32",
            "prefill_chunk: sglang/srt/server_args.py chunked_prefill_size 8192 on GPUs of 80 GB class (16384 "
            "above ~90 GB in recent releases)",
            "kv_storage: sglang/srt/mem_cache/memory_pool.py token-granular pool (page_size 1 by default); "
            "'max_total_num_tokens' printed at startup = pool / bytes per token; logged 'KV Cache is allocated. "
            "#tokens: 367404, K size: 8.23 GB' for Qwen3-235B-A22B at tp 4 = 367,404 x 94 layers x 1 KV head x 128 "
            "x 2 B in GiB (vllm-project/vllm#21348; its 'GB' are 2**30 bytes)",
            "kv_pool_rule 'static': sglang/srt/model_executor/model_runner.py profile_max_num_token: rest = free "
            "memory after the weights - total x (1 - mem_fraction_static), so activations and CUDA graphs are not "
            "subtracted from the pool (derived from source, no log with every figure found)",
            "memory_fraction: sglang/srt/server_args.py mem_fraction_static, about 0.88 for tp 1 on 80 GB GPUs "
            "(it depends on GPU size and tp; pass --overhead / a fraction to match a launch)",
            "cuda_graph_bytes: sglang/srt/model_executor/cuda_graph_runner.py (batch sizes up to 160 by "
            "default): 0.5 GiB stated, not measured",
            "allocator_block: PyTorch's CUDACachingAllocator rounds each block to 512 bytes (as for transformers)",
            "rotary_cos_sin_cache: sglang/srt/layers/rotary_embedding.py (the vLLM class it was taken from) keeps "
            "cos_sin_cache [max_position_embeddings, rotary_dim] (derived; measured for vLLM only)",
            "tp_overhead: 0.5 GiB stated, not measured (vLLM's logs show 1.85 GiB; SGLang's not found)",
        ],
    },
    "llama.cpp": {
        "title": "llama.cpp (llama-server / llama-cli, CUDA backend, all layers offloaded)",
        "loads_mtp": False,
        "loads_vision": False,
        "dtype": {"rule": "config", "fp32_to": "fp16"},
        "logits": "all",
        "logit_bytes": 4,
        "activation_bytes": 4,
        "softcap_copies": 1,
        "prefill_chunk": 512,
        "kv_storage": "ring",
        "kv_block_tokens": 256,
        "memory_fraction": None,
        "kv_pool_rule": None,
        "kv_layer_groups": None,
        "cuda_graph_bytes": 0,
        "library_workspace": 0,
        "overhead": int(0.3 * GiB),
        "tp_overhead": GiB // 2,
        "sampler_warmup": None,
        "rotary_cos_sin_cache": False,
        "moe_dispatch": "fused",
        "allocator_block": 0,
        "attention_lse": 0,
        "gqa_max_head_dim": None,
        "sliding_kv_after_prefill": "window",
        "unloaded_tensors": [r"\.attn\.(bias|masked_bias)$"],
        "sources": [
            "loads_mtp: src/llama-model.cpp skips the NextN layers of DeepSeek-V3/GLM (LLM_TENSOR_NEXTN_* are "
            "marked TENSOR_SKIP) unless used for speculative decoding",
            "loads_vision: the vision tower is a separate mmproj GGUF (tools/mtmd)",
            "dtype: convert_hf_to_gguf.py writes f16 for fp32 sources by default (--outtype f16); a GGUF's own "
            "tensor types are used when its headers are read",
            "logits / activation_bytes: src/llama-context.cpp sizes the compute buffer from a worst-case graph "
            "(logged 'reserving a graph for ubatch with n_tokens = 512, n_seqs = 1, n_outputs = 512'): logits for "
            "all n_ubatch positions, fp32, plus the fp32 hidden state, n_ubatch x (n_vocab + n_embd) x 4 bytes. "
            "Logged 'compute buffer size': 256.50 MiB for Llama-3.2-3B = 512 x (128,256 + 3,072) x 4 B, 304.00 MiB "
            "for Qwen2.5-Coder-7B = 512 x (152,064 + 3,584) x 4 B (fixtures/engine_logs); at run time only the "
            "flagged positions (the last one) get logits",
            "softcap_copies: ggml-alloc runs scale / tanh in place when the input has no other user",
            "prefill_chunk: common/common.h n_ubatch 512 (n_batch 2048): the compute buffer is sized for one "
            "ubatch",
            "kv_storage: src/llama-kv-cache.cpp allocates n_ctx cells up front (n_ctx padded to 256), K and V "
            "types from --cache-type-k/-v (f16 default); n_ctx default 4096 in common/common.h (0 = the model's)",
            "overhead: CUDA context and the ggml-cuda pool outside the model/KV/compute buffers: 0.3 GiB stated",
            "tp_overhead: --split-mode row/layer across GPUs: 0.5 GiB stated, not measured",
        ],
    },
}

DEFAULT_ENGINE = "transformers"
ENGINE_NAMES = tuple(PROFILES)


def get_profile(name: str | None) -> dict:
    """The profile for ``name`` (default transformers); a copy, so callers may annotate it."""
    from ...errors import CkptError

    key = (name or DEFAULT_ENGINE).lower()
    if key not in PROFILES:
        raise CkptError(f"unknown engine {name!r} (choose from {', '.join(PROFILES)})", "--engine")
    p = dict(PROFILES[key])
    p["name"] = key
    return p


#: runtime dtype names accepted by --dtype -> bytes per value and the safetensors code
DTYPES = {"bfloat16": ("BF16", 2), "bf16": ("BF16", 2), "float16": ("F16", 2), "fp16": ("F16", 2),
          "half": ("F16", 2), "float32": ("F32", 4), "fp32": ("F32", 4), "float": ("F32", 4)}
ST_NAMES = {"BF16": "bfloat16", "F16": "float16", "F32": "float32"}
SHORT = {"bf16": "BF16", "fp16": "F16", "fp32": "F32"}


def parse_dtype(name: str | None) -> str | None:
    """``--dtype`` to a safetensors dtype code (BF16/F16/F32); None/auto = the engine's rule."""
    if name is None or str(name).lower() == "auto":
        return None
    k = str(name).lower().replace("torch.", "")
    if k not in DTYPES:
        from ...errors import CkptError

        raise CkptError(f"unknown dtype {name!r} (choose from auto, bfloat16, float16, float32)", "--dtype")
    return DTYPES[k][0]


def runtime_dtype(profile: dict, config, tensors, override: str | None) -> tuple[str, str]:
    """(safetensors dtype code the weights are held in at run time, why)."""
    if override:
        return override, f"--dtype {ST_NAMES[override]}"
    cfg_dt = getattr(config, "dtype", None) if config is not None else None
    rule = profile["dtype"]
    if cfg_dt in ST_NAMES:
        dt, why = cfg_dt, f"config.json dtype {ST_NAMES[cfg_dt]}"
    else:
        floats = [t.dtype for t in tensors if t.dtype in ST_NAMES]
        if floats:
            dt = max(set(floats), key=floats.count)
            why = f"no dtype in config.json: the checkpoint's weights are {ST_NAMES[dt]}"
        else:
            dt, why = "F32", "no dtype in config.json and no float weights read: torch's default fp32"
    if dt == "F32" and rule.get("fp32_to"):
        to = SHORT[rule["fp32_to"]]
        why += f", served as {ST_NAMES[to]} (the engine turns fp32 checkpoints into {ST_NAMES[to]})"
        dt = to
    return dt, f"{profile['name']} default: {why}"
