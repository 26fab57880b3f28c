"""Training as PyTorch runs it: weights, gradients, optimizer state and the optimizer step's temporaries, by
precision and optimizer, and the peak as the largest of three moments.

A plain loop ``loss = model(ids, labels=ids).loss; loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)``
goes through, per step:

- **backward start**: weights + optimizer state + everything autograd saved + the loss's logit tensors; no
  gradients yet, because ``zero_grad(set_to_none=True)`` (the default since PyTorch 2.0) freed them;
- **optimizer step**: weights + gradients + optimizer state + the step's temporaries (activations are freed);
- the forward end is below the backward start (the loss backward adds the logit gradients).

Sources (PyTorch 2.13): torch/optim/adam.py ``_multi_tensor_adam`` (foreach, the default for CUDA tensors through
``_default_to_fused_or_foreach``): ``exp_avg_sq_sqrt = torch._foreach_sqrt(device_exp_avg_sqs)`` makes one new
tensor per parameter, for the whole parameter group at once, before ``_foreach_addcdiv_``; everything else is
in place. ``_init_group`` creates ``exp_avg`` and ``exp_avg_sq`` with ``torch.zeros_like(p)`` in the parameter's
dtype. The fused kernel (``fused=True``) makes no temporaries. bitsandbytes' 8-bit Adam keeps two uint8 states
with an fp32 absmax per 256-value block for tensors of at least 4096 values (smaller ones in fp32).
transformers' Adafactor (optimization.py) keeps row and column second-moment factors in fp32 for matrices (no
first moment by default) and per parameter makes an fp32 copy of the gradient and an fp32 update (the largest
parameter bounds the transient). SGD with momentum 0 (the default) keeps no state.
"""

from __future__ import annotations

PRECISIONS = {
    "bf16": {"weights": 2, "grads": 2, "master": 0, "state_dtype": 2,
             "why": "pure bf16: bf16 weights and gradients, optimizer state in the parameter dtype (bf16)"},
    "amp": {"weights": 4, "grads": 4, "master": 0, "state_dtype": 4,
            "why": "fp32 weights with torch.autocast(bfloat16): fp32 weights, gradients and optimizer state; "
                   "autocast's cached bf16 copies of the weights are counted with the activations"},
    "mixed": {"weights": 2, "grads": 2, "master": 4, "state_dtype": 4,
              "why": "bf16 weights and gradients with an fp32 master copy the optimizer updates (fp32 state); the "
                     "step also makes an fp32 copy of the gradients"},
}
OPTIMIZERS = {
    "adamw": "torch.optim.AdamW defaults (foreach on CUDA): two states + one foreach temporary per parameter",
    "adamw-fused": "torch.optim.AdamW(fused=True): two states, no temporaries",
    "adamw-8bit": "bitsandbytes AdamW8bit: two uint8 states + fp32 absmax per 256 values (>= 4096-value tensors)",
    "adafactor": "transformers Adafactor defaults: factored fp32 second moment, no first moment",
    "sgd": "torch.optim.SGD defaults (momentum 0): no state",
}
EIGHT_BIT = 2 + 2 * 4 / 256
ADAFACTOR_TEMP_WHY = (
    "{k} bytes x the largest parameter: transformers/optimization.py Adafactor.step works parameter by parameter; "
    "for a bf16 parameter of n values grad.float() (4n) and p.float() (4n) stay alive while `update = (grad**2) + "
    "eps` holds grad**2 and the sum (4n + 4n), and later the new _approx_sq_grad product beside the old update and "
    "`-update` beside update (4n + 4n each): 16n; an fp32 parameter makes no copies: 8n")


def optimizer_bytes(n_params: int, largest: int, factored: int, state_dtype: int, optimizer: str) -> dict:
    """State and step-time temporaries for ``n_params`` trainable parameters of dtype ``state_dtype`` bytes.

    ``largest``: values in the largest trainable tensor; ``factored``: the Adafactor state values (rows + columns
    of matrices, full size for vectors)."""
    if optimizer == "adamw":
        return {"state": 2 * state_dtype * n_params, "temporary": state_dtype * n_params,
                "temporary_why": "foreach sqrt(exp_avg_sq): one tensor per parameter, all at once"}
    if optimizer == "adamw-fused":
        return {"state": 2 * state_dtype * n_params, "temporary": 0, "temporary_why": "fused kernel: none"}
    if optimizer == "adamw-8bit":
        return {"state": int(EIGHT_BIT * n_params), "temporary": 0,
                "temporary_why": "blockwise 8-bit kernel, per parameter: none"}
    if optimizer == "adafactor":
        k = 8 if state_dtype >= 4 else 16
        return {"state": 4 * factored, "temporary": k * largest,
                "temporary_why": ADAFACTOR_TEMP_WHY.format(k=k)}
    if optimizer == "sgd":
        return {"state": 0, "temporary": 0, "temporary_why": "none (momentum 0)"}
    from ...errors import CkptError

    raise CkptError(f"unknown optimizer {optimizer!r} (choose from {', '.join(OPTIMIZERS)})", "--optimizer")


def moments(weights: int, grads: int, state: int, temporary: int, activations: int, extra: int = 0,
            backward_end: int = 0, rounding: dict | None = None) -> dict:
    """The moments that bound a step; ``extra`` (library workspaces) is alive in all of them. ``backward_end``:
    bytes beyond the gradients at the last backward op (a tied embedding's second gradient, see TIED_NOTE).
    ``rounding``: the allocator's block rounding of the weights / gradients / state / temporary tensors (bytes
    per component), added to each moment that holds them and reported as ``rounding_at_peak``."""
    r = {"weights": 0, "gradients": 0, "state": 0, "temporary": 0, **(rounding or {})}
    parts = {"backward start": ("weights", "state"), "optimizer step": ("weights", "gradients", "state", "temporary")}
    m = {"backward start": weights + state + activations + extra,
         "optimizer step": weights + grads + state + temporary + extra}
    if backward_end:
        m["backward end"] = weights + grads + state + backward_end + extra
        parts["backward end"] = ("weights", "gradients", "state")
    rr = {k: sum(r[p] for p in v) for k, v in parts.items()}
    m = {k: v + rr[k] for k, v in m.items()}
    peak = max(m, key=m.get)
    return {"moments": m, "peak_moment": peak, "peak": m[peak], "rounding_at_peak": rr[peak]}


def state_tensor_sizes(params, state_dtype: int, optimizer: str) -> list[int]:
    """Bytes of each optimizer-state tensor the optimizer creates for ``params`` (tensor records), for the
    allocator's per-tensor rounding: AdamW two ``zeros_like(p)`` per parameter (the step counter stays on the CPU
    when neither capturable nor fused: torch/optim/adam.py _init_group); Adafactor fp32 row and column factors per
    matrix (``torch.zeros(grad_shape[:-1])``, ``grad_shape[:-2] + grad_shape[-1:]``) or one full fp32 tensor per
    vector; SGD (momentum 0) none; 8-bit Adam not modelled."""
    import math

    out: list[int] = []
    for t in params:
        n = math.prod(t.shape)
        if optimizer in ("adamw", "adamw-fused"):
            out += [n * state_dtype] * 2
        elif optimizer == "adafactor":
            if len(t.shape) >= 2:
                out += [math.prod(t.shape[:-1]) * 4, math.prod(t.shape[:-2]) * t.shape[-1] * 4]
            else:
                out.append(n * 4)
    return out


def tensor_stats(tensors) -> tuple[int, int]:
    """(values in the largest tensor, Adafactor-factored state values) over ``tensors``."""
    import math

    largest = 0
    fact = 0
    for t in tensors:
        n = math.prod(t.shape)
        largest = max(largest, n)
        # Adafactor's factors: row = shape[:-1], column = shape[:-2] + shape[-1:] (3-D expert tensors included)
        fact += (math.prod(t.shape[:-1]) + math.prod(t.shape[:-2]) * t.shape[-1]) if len(t.shape) >= 2 else n
    return largest, fact


TIED_NOTE = ("tied input/output embedding trained: when the embedding's backward runs last, every other gradient "
             "exists, and its [vocab, hidden] gradient plus the sum with the LM head's gradient are alive together "
             "(2 x vocab x hidden x gradient bytes; measured on CPU with tools/measure_memory.py)")
