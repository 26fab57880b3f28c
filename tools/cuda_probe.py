#!/usr/bin/env python3
"""Probe the CUDA-only memory terms the planner derives from source (issue 14), and write raw JSON.

Standalone (never imported by ckptscope); needs torch with CUDA. Each probe measures one term with
torch.cuda.memory_allocated / max_memory_allocated deltas, nothing from ckptscope:

- cublas_workspace: allocated bytes appearing at the first bf16 matmul of the main thread, then at the first
  backward (autograd's device thread); planner: 32 MiB per thread on sm90 (CublasHandlePool.cpp);
- block_rounding: a 100-byte and a 1000-byte tensor; planner: rounded up to 512-byte blocks;
- sdpa: kernel names (profiler) and peak/saved bytes of a causal bf16 SDPA call for GQA head_dim 128 with
  enable_gqa, and for MLA head dims 192/192/128, forward under no_grad and with grad (saved log-sum-exp);
- foreach_adamw: the step's peak above weights + grads + state for bf16 parameters; planner: one param-sized
  temporary (torch._foreach_sqrt) for the whole group.

    python tools/cuda_probe.py OUT.json
"""

from __future__ import annotations

import json
import sys


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print("usage: cuda_probe.py OUT.json", file=sys.stderr)
        return 2
    import torch

    if not torch.cuda.is_available():
        print("cuda_probe: CUDA is not available", file=sys.stderr)
        return 2
    dev = torch.device("cuda")
    out: dict = {"torch": torch.__version__, "cuda": torch.version.cuda, "device_name": torch.cuda.get_device_name(0),
                 "capability": list(torch.cuda.get_device_capability(0))}
    try:
        out["cublas_workspace_size"] = torch.backends.cuda.cublas_workspace_size()
        out["cublaslt_workspace_size"] = torch.backends.cuda.cublaslt_workspace_size()
    except Exception as e:  # noqa: BLE001 - older torch
        out["cublas_workspace_size"] = f"unavailable: {e}"
    alloc = torch.cuda.memory_allocated

    # ---- cuBLAS workspace: main thread, then autograd's device thread
    if hasattr(torch._C, "_cuda_clearCublasWorkspaces"):
        torch._C._cuda_clearCublasWorkspaces()
    torch.cuda.empty_cache()
    a = torch.randn(256, 256, device=dev, dtype=torch.bfloat16, requires_grad=True)
    b = torch.randn(256, 256, device=dev, dtype=torch.bfloat16)
    before = alloc()
    c = a @ b
    torch.cuda.synchronize()
    first = alloc() - before - c.untyped_storage().nbytes()
    before = alloc()
    c.sum().backward()
    torch.cuda.synchronize()
    grad = a.grad.untyped_storage().nbytes()
    bwd = alloc() - before - grad
    out["cublas_workspace"] = {"first_matmul_main_thread": first, "first_backward_autograd_thread": bwd}
    del a, b, c

    # ---- block rounding
    res = {}
    for n in (100, 1000, 4096):
        before = alloc()
        t = torch.empty(n, dtype=torch.uint8, device=dev)
        res[str(n)] = alloc() - before
        del t
    out["block_rounding"] = res

    # ---- SDPA kernels and saved bytes
    F = torch.nn.functional
    sd = {}
    for name, (H, Hkv, dqk, dv, L) in {"gqa_hd128": (32, 8, 128, 128, 4096),
                                          "mla_192_128": (16, 16, 192, 128, 4096)}.items():
        q = torch.randn(1, H, L, dqk, device=dev, dtype=torch.bfloat16)
        k = torch.randn(1, Hkv, L, dqk, device=dev, dtype=torch.bfloat16)
        v = torch.randn(1, Hkv, L, dv, device=dev, dtype=torch.bfloat16)
        kw = {"enable_gqa": True} if Hkv != H else {}
        rec: dict = {}
        try:
            from torch.profiler import ProfilerActivity, profile

            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                with torch.no_grad():
                    F.scaled_dot_product_attention(q, k, v, is_causal=True, **kw)
                torch.cuda.synchronize()
            rec["kernels"] = sorted({e.key for e in prof.key_averages() if "attention" in e.key.lower()
                                     or "fmha" in e.key.lower() or "flash" in e.key.lower()})[:8]
        except Exception as e:  # noqa: BLE001
            rec["kernels"] = f"profiler failed: {e}"
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = alloc()
        with torch.no_grad():
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True, **kw)
        torch.cuda.synchronize()
        rec["no_grad_peak_above_inputs"] = torch.cuda.max_memory_allocated() - base
        rec["output_bytes"] = o.untyped_storage().nbytes()
        del o
        qg = q.clone().requires_grad_(True)
        base = alloc()
        o = F.scaled_dot_product_attention(qg, k, v, is_causal=True, **kw)
        torch.cuda.synchronize()
        rec["with_grad_kept_above_inputs"] = alloc() - base  # output + what the kernel saved (log-sum-exp)
        rec["lse_planner_bytes"] = 4 * H * L
        del o, qg, q, k, v
        sd[name] = rec
    out["sdpa"] = sd

    # ---- foreach AdamW temporaries
    torch.cuda.empty_cache()
    params = [torch.nn.Parameter(torch.randn(4096, 4096, device=dev, dtype=torch.bfloat16)) for _ in range(8)]
    for p in params:
        p.grad = torch.randn_like(p)
    opt = torch.optim.AdamW(params)
    opt.step()  # creates the state
    torch.cuda.synchronize()
    base = alloc()
    torch.cuda.reset_peak_memory_stats()
    opt.step()
    torch.cuda.synchronize()
    P = sum(p.numel() for p in params)
    out["foreach_adamw"] = {"step_peak_above_state": torch.cuda.max_memory_allocated() - base,
                            "param_bytes": 2 * P, "defaults": {k: v for k, v in opt.defaults.items()
                                                               if k in ("foreach", "fused", "capturable")}}
    with open(argv[0], "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
