#!/usr/bin/env bash
# One-shot CUDA validation of the memory planner (issue 14). For a session that has an H100/H200: run from the
# repository root, no network, nothing installed. It needs a python with torch (CUDA build) and transformers
# (peft optional: the LoRA cases are recorded as failed without it), and finishes in under 8 minutes.
#
#   OUT=/some/dir bash tools/gpu_validation.sh          # $OUT defaults to ./gpu-validation-out
#
# It writes raw JSON only (no ckptscope figure in it):
#   $OUT/probe.json        tools/cuda_probe.py: cuBLAS workspace per thread, 512-byte block rounding, SDPA
#                          kernels and saved log-sum-exp (GQA hd 128, MLA 192/128), foreach AdamW temporaries
#   $OUT/infer-1k.json     tools/measure_memory.py --device cuda --scale cut --tokens 1024 (inference cases)
#   $OUT/infer-8k.json     the same at 8192 tokens
#   $OUT/train.json        training cases (full bf16 / amp / checkpointing, LoRA, Adafactor, SGD, MoE, MLA)
#   $OUT/table.md          tools/validation_table.py over the three, when ckptscope imports with that python
#   $OUT/env.txt           nvidia-smi, python and library versions
# Then, on a machine with the repo: python tools/validation_table.py $OUT/*.json --doc docs/validation.md
set -u
cd "$(dirname "$0")/.." || exit 2
OUT="${OUT:-./gpu-validation-out}"
mkdir -p "$OUT" || { echo "gpu_validation: cannot create $OUT" >&2; exit 2; }
T0=$(date +%s)

PY=""
for cand in "${PYTHON:-}" python3 python /usr/bin/python3 /usr/local/bin/python3 /opt/conda/bin/python; do
  [ -n "$cand" ] || continue
  command -v "$cand" >/dev/null 2>&1 || continue
  if "$cand" -c "import torch, transformers, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    PY="$cand"; break
  fi
done
if [ -z "$PY" ]; then
  echo "gpu_validation: no python with torch (CUDA available) and transformers found (tried \$PYTHON, python3," \
       "python, /usr/bin/python3, /usr/local/bin/python3, /opt/conda/bin/python); nothing was measured" >&2
  exit 3
fi

{
  echo "python: $PY"
  "$PY" -c "import sys, torch, transformers; print(sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, 'transformers', transformers.__version__, torch.cuda.get_device_name(0), torch.cuda.get_device_capability(0))"
  "$PY" -c "import peft; print('peft', peft.__version__)" 2>/dev/null || echo "peft: not installed (LoRA cases will fail)"
  nvidia-smi 2>/dev/null | head -15
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
unset CUBLAS_WORKSPACE_CONFIG CUBLASLT_WORKSPACE_SIZE TORCH_CUBLASLT_UNIFIED_WORKSPACE PYTORCH_CUDA_ALLOC_CONF PYTORCH_ALLOC_CONF

INFER=gpt2-1k,qwen25-05b-4k,llama32-1b-8k,gemma2-2b-4k,phi3-mini-4k,mistral-7b-8k,llama31-8b-8k,qwen3-30b-a3b-8L-4k,deepseek-v2-lite-4k,deepseek-v3-2L-2k
TRAIN=llama32-1b-full-bf16,llama32-1b-full-bf16-ckpt,qwen25-05b-full-amp,gpt2-full-bf16,llama31-8b-lora-attn,llama31-8b-lora-attn-amp,phi3-mini-lora-attn,llama32-1b-full-bf16-adafactor,llama32-1b-full-bf16-sgd,qwen3-30b-a3b-16e-full-bf16-sgd,deepseek-v2-lite-16e-full-bf16-sgd,llama31-8b-lora-all-amp

rc=0
step() {  # name, time limit (s), command...
  local name=$1 lim=$2; shift 2
  echo "== $name (limit ${lim}s, $(( $(date +%s) - T0 ))s elapsed)"
  timeout "$lim" "$@" > "$OUT/$name.log" 2>&1
  local r=$?
  tail -n 40 "$OUT/$name.log" | grep -v -i "warn" | tail -n 15
  [ $r -eq 0 ] || { echo "   $name: exit $r (124 = time limit; partial JSON kept)"; rc=1; }
}

step probe 60 "$PY" tools/cuda_probe.py "$OUT/probe.json"
step infer-1k 110 "$PY" tools/measure_memory.py "$OUT/infer-1k.json" --device cuda --scale cut --tokens 1024 --cases "$INFER"
step infer-8k 130 "$PY" tools/measure_memory.py "$OUT/infer-8k.json" --device cuda --scale cut --tokens 8192 --cases "$INFER"
step train 170 "$PY" tools/measure_memory.py "$OUT/train.json" --device cuda --scale cut --cases "$TRAIN"

if "$PY" -c "import ckptscope.analysis.memory" 2>/dev/null; then
  timeout 60 "$PY" tools/validation_table.py $(ls "$OUT"/infer-1k.json "$OUT"/infer-8k.json "$OUT"/train.json 2>/dev/null) \
    > "$OUT/table.md" 2>"$OUT/table.err" && echo "table: $OUT/table.md" && grep -E "^Within|^\| " "$OUT/table.md" | head -60
else
  echo "ckptscope does not import with $PY: table not made (run tools/validation_table.py elsewhere)"
fi
echo "done in $(( $(date +%s) - T0 ))s; raw JSON in $OUT"
exit $rc
