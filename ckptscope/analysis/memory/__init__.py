"""The memory planner: KV cache per layer, context, weights per GPU, activations, training state.

Public entry points: :func:`plan` (the whole estimate as plain data), :func:`kv_layout`,
:func:`kv_cache_bytes`, :func:`bytes_per_token`, :func:`max_context`, :func:`context_info`.
"""

from .kv import (KV_DTYPES, KVLayout, LayerKV, bytes_per_token, context_info, kv_cache_bytes, kv_dtype_name,
                 kv_layout, layer_kinds, max_context, row_bytes)
from .plan import Options, plan

__all__ = ["KV_DTYPES", "KVLayout", "LayerKV", "Options", "bytes_per_token", "context_info", "kv_cache_bytes",
           "kv_dtype_name", "kv_layout", "layer_kinds", "max_context", "plan", "row_bytes"]
