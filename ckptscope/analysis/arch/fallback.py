"""When no family rules apply: an honest estimate, labelled with how it was made.

1. ``transformers meta build`` — with the optional extra ``ckptscope[transformers]`` installed (torch +
   transformers), the model class named in ``architectures`` is built on the meta device (no memory for weights)
   and the save-time steps of ``save_pretrained`` are applied (tied weights dropped, load-time conversions
   reverted): exact shapes for every family transformers knows. Imported lazily, only here, never at import time.
2. ``approximate`` — otherwise a generic decoder estimate from the common keys: hidden/heads/KV heads/head_dim,
   dense width, ``attention_bias``/``mlp_bias``, MoE placement (``moe_layers``, ``interleave_moe_layer_step``,
   ``moe_layer_freq`` + ``first_k_dense_replace``, ``mlp_only_layers`` + ``decoder_sparse_step``, ...), shared
   experts, ``layer_types`` with linear-attention / Mamba layers, ``block_configs``, MTP layers, a vision tower
   from ``vision_config``, a Whisper-style audio encoder + projector from ``audio_config``, and an absent
   ``tie_word_embeddings`` meaning an untied head (transformers' own
   default for decoder configs). Names follow the Llama layout; only the counts are meant.
"""

from __future__ import annotations

from ..classify import AUDIO, MTP, PROJECTOR, VISION
from .decoder import Spec, tensors as decoder_tensors
from .schedule import ATTENTION_TYPES
from .engine import LIN, Dims, ExpectedTensor, PredictionError, build, glu_mlp, linear, norm

META = "transformers meta build"
APPROX = "approximate"


def _g(c, *keys):
    for k in keys:
        v = c.get(k)
        if v is not None:
            return v
    return None


def _recurrent(c) -> str:
    if _g(c, "linear_num_value_heads", "linear_key_head_dim"):
        return "gated_deltanet"
    if _g(c, "mamba_n_heads", "mamba_d_head", "n_groups", "mamba_n_groups", "mamba_d_ssm"):
        return "mamba2"
    return "mamba"


#: activations whose published families use a gated (GLU) feed-forward whatever the norm
_GATED_ACTS = ("silu", "swish", "swiglu", "geglu", "reglu", "glu")
#: activations chosen for plain two-matrix feed-forwards (squared ReLU, xIELU)
_PLAIN_ACTS = ("relu", "relu2", "relu_squared", "xielu", "squared_relu")
_WIDTH_KEYS = ("intermediate_size", "n_inner", "d_ff", "ffn_dim", "ffn_hidden_size", "decoder_ffn_dim",
               "block_ff_dim", "feed_forward_dim", "mlp_dim", "ffn_inner_dim", "inner_dim")
_LN_KEYS = ("layer_norm_eps", "layer_norm_epsilon", "norm_epsilon", "layernorm_epsilon", "do_layer_norm_before")
_RMS_KEYS = ("rms_norm_eps", "rms_norm_epsilon", "rmsnorm_eps")
_EXPERT_WIDTH_KEYS = ("expert_ffn_hidden_size", "moe_ffn_hidden_size", "expert_intermediate_size",
                      "moe_hidden_size", "expert_hidden_size", "moe_ffn_dim", "expert_dim")
_SSM_ONLY = "__ckptscope_state_space_only"  #: set by canonical() on its own copy of the config
_BIAS_KEYS = ("attention_bias", "use_bias", "bias", "enable_bias", "add_bias_linear", "qkv_bias")


def _act(c) -> str:
    for k in ("hidden_act", "hidden_activation", "activation_function", "activation", "act_fn", "mlp_act",
              "feed_forward_proj"):
        v = c.get(k)
        if isinstance(v, str):
            return v.lower()
    return ""


def _layer_norm(c) -> bool:
    """LayerNorm (with bias) rather than RMSNorm: the config names a layer-norm epsilon and no RMS one."""
    if c.get("use_rms_norm") is not None or c.get("rms_norm") is not None:
        return not bool(c.get("use_rms_norm", c.get("rms_norm")))
    if str(c.get("normalization_type") or c.get("norm_type") or "").lower().startswith("rms"):
        return False
    return any(c.get(k) is not None for k in _LN_KEYS) and not any(c.get(k) is not None for k in _RMS_KEYS)


def gated(c) -> bool:
    """Does the dense feed-forward have a gate (gate/up/down) or is it two matrices (up/down)? An explicit key
    wins; else the activation: ``*glu``/SiLU families are gated, squared-ReLU / xIELU ones are not, and a GELU or
    ReLU is gated in the RMSNorm generation (Gemma, T5 v1.1) and plain in the LayerNorm one (GPT-2, GPT-NeoX,
    Phi, StarCoder2, Falcon, OPT, BERT)."""
    for k in ("gated_mlp", "use_glu", "glu_mlp", "mlp_gated", "use_gated_mlp", "gated_ffn"):
        if isinstance(c.get(k), bool):
            return c.get(k)
    a = _act(c)
    if a.startswith("gated-") or any(a == g or a.endswith(g) for g in _GATED_ACTS):
        return True
    if a in _PLAIN_ACTS:
        return False
    return not _layer_norm(c)


def _width(c, H):
    """The dense feed-forward width: the first usable width key (a per-layer list: its mean), an explicit
    ``ffn_config`` (DBRX) or ``mlp_config``, else 4 x hidden (the GPT convention when ``n_inner`` is null)."""
    for src in (c.raw, c.full, c.get("ffn_config"), c.get("mlp_config")):
        if not isinstance(src, dict):
            continue
        for k in _WIDTH_KEYS:
            v = src.get(k)
            if isinstance(v, list) and v and all(isinstance(x, int) and not isinstance(x, bool) and x > 0
                                                  for x in v):
                return round(sum(v) / len(v))
            if isinstance(v, int) and not isinstance(v, bool) and v > 0:
                return v
    return 4 * H if isinstance(H, int) and H > 0 else None


def _state_space_only(c) -> bool:
    """A Mamba-style stack: state-space sizes, no attention head count of its own and no key placing attention
    layers (hybrids such as Jamba, Zamba, Bamba, Falcon-H1, Nemotron-H name their attention heads)."""
    if not (c.hidden_size and c.num_hidden_layers):
        return False
    if not any(c.get(k) is not None for k in ("state_size", "ssm_state_size", "d_state", "mamba_d_state")):
        return False
    if any(c.get(k) is not None for k in ("num_attention_heads", "n_head", "num_key_value_heads", "n_heads",
                                          "attn_layer_period", "hybrid_override_pattern", "layers_block_type",
                                          "attn_layer_indices", "full_attention_interval")):
        return False
    lt = c.get("layer_types")
    return not (isinstance(lt, list) and any(str(t) in ATTENTION_TYPES for t in lt))


def canonical(config):
    """The config as the generic estimate reads it: the text decoder's fields at the top (towers kept), the
    dense width found under any of its names, and the number of heads of a pure state-space stack."""
    from ...readers.config import TEXT_KEYS, from_dict

    flat = {k: v for k, v in config.full.items() if k not in TEXT_KEYS}
    if config.raw is not config.full:
        flat.update({k: v for k, v in config.raw.items() if k not in ("vision_config", "audio_config")})
    for k in ("vision_config", "audio_config"):
        v = getattr(config, k, None)
        if isinstance(v, dict):
            flat[k] = v
    c = from_dict(dict(flat), config.file)
    w = _width(c, c.hidden_size)
    if w is not None and not isinstance(c.get("intermediate_size"), int) and not _state_space_only(c):
        flat["intermediate_size"] = w
    if c.num_hidden_layers is None:  # the layer count only as the length of a per-layer list
        for k in ("layer_types", "layers_block_type", "hybrid_override_pattern", "block_configs"):
            v = c.get(k)
            if isinstance(v, (list, str)) and 0 < len(v) <= 100_000:
                flat["num_hidden_layers"] = len(v)
                break
    if c.moe_intermediate_size is None:  # the expert width under the names remote-code families give it
        for k in _EXPERT_WIDTH_KEYS:
            v = c.get(k)
            if isinstance(v, int) and not isinstance(v, bool) and v > 0:
                flat["moe_intermediate_size"] = v
                break
    if c.get("n_shared_experts") is None:  # the shared-expert count under other names
        for k in ("num_shared_experts", "moe_num_shared_experts", "num_shared_expert", "n_shared_expert",
                  "shared_expert_num", "num_shared_expert_layers"):
            v = c.get(k)
            if isinstance(v, list) and v and all(isinstance(x, int) and not isinstance(x, bool) for x in v):
                v = max(v)  # Hunyuan: one count per layer
            if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
                flat["n_shared_experts"] = v
                break
    if c.get("first_k_dense_replace") is None:  # the leading dense layers under other names
        for k in ("num_dense_layers", "n_dense_layers", "first_dense_layers", "num_first_dense_layers",
                  "dense_layers_num"):
            v = c.get(k)
            if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
                flat["first_k_dense_replace"] = v
                break
    if c.num_experts_per_tok is None:
        for k in ("moe_topk", "experts_per_token", "num_selected_experts", "moe_k"):
            v = c.get(k)
            if isinstance(v, int) and not isinstance(v, bool) and v > 0:
                flat["num_experts_per_tok"] = v
                break
    if _state_space_only(c):  # attention-free Mamba stack: every layer a mixer, no feed-forward
        flat[_SSM_ONLY] = True
        inner = c.get("intermediate_size")  # a Mamba config's intermediate_size is the mixer's d_inner
        if isinstance(inner, int) and not isinstance(inner, bool) and inner > 0 and c.hidden_size:
            flat["mamba_expand"] = inner / c.hidden_size
        flat["num_attention_heads"] = flat["num_key_value_heads"] = 1
        flat["head_dim"] = c.hidden_size
    c2 = from_dict(flat, config.file)
    c2.model_type, c2.architectures = config.model_type, config.architectures
    return c2


def generic_spec(c) -> Spec:
    E = c.num_experts or 0
    shared = None
    if _g(c, "shared_expert_intermediate_size"):
        shared = "shared_expert"
    elif _g(c, "n_shared_experts", "num_shared_experts", "moe_num_shared_experts"):
        shared = "shared_experts"
    qk = "head" if (c.get("use_qk_norm") or c.get("qk_norm") or c.get("qk_layernorm")) else None
    ln = _layer_norm(c)
    bias = next((bool(c.get(k)) for k in _BIAS_KEYS if isinstance(c.get(k), bool)), ln)  # GPT-style: biases
    mb = c.get("mlp_bias")
    mla = all(isinstance(getattr(c, k, None), int) for k in ("kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim",
                                                              "v_head_dim"))
    return Spec(("generic",), tie=False, qkv_bias=bias, o_bias=bias, qkv="mla" if mla else "split",
                mlp_bias=bool(mb) if isinstance(mb, bool) else bias, norm_bias=ln,
                mlp="glu" if gated(c) else "updown", qk_norm=qk, moe="experts" if E > 1 else None,
                moe_inter="moe_intermediate_size" if c.moe_intermediate_size else "intermediate_size",
                shared=shared, shared_inter="shared_expert_intermediate_size" if shared == "shared_expert" else None,
                hybrid=True, recurrent=_recurrent(c))


class _Generic:
    TIE_DEFAULT = False
    DEFAULT_DTYPE = "BF16"

    def __init__(self, c):
        self.spec = generic_spec(c)

    def _plan(self, d):
        """(mixer, ffn) per layer when the config spells it out block by block (Nemotron-H's pattern) or the
        stack is attention-free; None: the common placement keys (schedule.layer_plan)."""
        from .schedule import block_pattern

        if d.get(_SSM_ONLY):
            return [(self.spec.recurrent, "none")] * d.L
        pat = block_pattern(d)
        if pat is not None and len(pat) == d.L:
            return [(self.spec.recurrent if m == "mamba2" else m, f) for m, f in pat]
        return None

    def tensors(self, d, layout):
        c = d.c
        if isinstance(c.get("block_configs"), list):
            from .families.remote import _deci

            yield from _deci(self.spec, d, layout)
        else:
            yield from decoder_tensors(self.spec, d, layout, self._plan(d))
        n = c.num_nextn_predict_layers or _g(c, "num_mtp_layers", "mtp_num_hidden_layers") or 0
        for k in range(int(n) if isinstance(n, int) else 0):  # one decoder layer + input projection each
            p = f"mtp.{k}"
            yield from linear(p + ".eh_proj", d.H, 2 * d.H, MTP)
            yield from norm(p + ".enorm", d.H, MTP)
            yield from norm(p + ".hnorm", d.H, MTP)
            yield from linear(p + ".q_proj", d.nh * d.hd, d.H, MTP)
            yield from linear(p + ".kv_proj", 2 * d.kv * d.hd, d.H, MTP)
            yield from linear(p + ".o_proj", d.H, d.nh * d.hd, MTP)
            w = c.moe_intermediate_size if d.E > 1 else d.I
            for j in range(d.E if d.E > 1 else 1):
                yield from glu_mlp(f"{p}.mlp.{j}", d.H, w or d.I, MTP)
        v = c.vision_config
        if isinstance(v, dict):
            yield from _vit(v)
        a = c.audio_config
        if isinstance(a, dict):
            yield from _audio_encoder(a, d.H)


def _audio_encoder(a: dict, text_hidden):
    """A Whisper-style encoder from an audio_config (two 1-D convs over the mel bins, learned positions, per layer
    q/k/v/o + 2-matrix MLP with biases + 2 norms) and one projector to the text width."""
    def i(*keys, default=None):
        for k in keys:
            x = a.get(k)
            if isinstance(x, int) and not isinstance(x, bool) and 0 < x < 1_000_000:
                return x
        if default is None:
            raise PredictionError("audio_config gives no usable hidden size / layer count")
        return default

    H = i("d_model", "hidden_size")
    L = i("encoder_layers", "num_hidden_layers", "conf_num_hidden_layers", "num_layers")
    I = i("encoder_ffn_dim", "intermediate_size", default=4 * H)
    mel = i("num_mel_bins", "input_feat_size", "n_mels", default=80)
    yield "audio.conv1.weight", (H, mel, 3), AUDIO, None
    yield "audio.conv2.weight", (H, H, 3), AUDIO, None
    yield "audio.embed_positions.weight", (i("max_source_positions", default=1500), H), AUDIO, None
    for k in range(L):
        p = f"audio.layers.{k}"
        yield from linear(p + ".qkv", 3 * H, H, AUDIO, True, kind=None)
        yield from linear(p + ".o", H, H, AUDIO, True, kind=None)
        yield from linear(p + ".fc1", I, H, AUDIO, True, kind=None)
        yield from linear(p + ".fc2", H, I, AUDIO, True, kind=None)
        yield from norm(p + ".norm1", H, AUDIO, True)
        yield from norm(p + ".norm2", H, AUDIO, True)
    if isinstance(text_hidden, int) and text_hidden > 0:
        yield from linear("audio_projector", text_hidden, H, PROJECTOR, True, kind=None)


def _vit(v: dict):
    """A plain ViT from a vision_config: patch embedding, per layer q/k/v/o + 2-matrix MLP with biases + 2 norms."""
    def i(*keys, default=None):
        for k in keys:
            x = v.get(k)
            if isinstance(x, int) and not isinstance(x, bool) and 0 < x < 1_000_000:
                return x
        if default is None:
            raise PredictionError("vision_config gives no usable hidden_size / layer count")
        return default

    H = i("hidden_size", "embed_dim", "width")
    L = i("num_hidden_layers", "depth", "num_layers", "layers")
    I = i("intermediate_size", default=4 * H)
    ps, ch = i("patch_size", default=14), i("num_channels", "in_channels", "in_chans", default=3)
    yield "vision.patch_embed.weight", (H, ch, ps, ps), VISION, None
    for k in range(L):
        p = f"vision.layers.{k}"
        yield from linear(p + ".qkv", 3 * H, H, VISION, True, kind=None)
        yield from linear(p + ".o", H, H, VISION, True, kind=None)
        yield from linear(p + ".fc1", I, H, VISION, True, kind=None)
        yield from linear(p + ".fc2", H, I, VISION, True, kind=None)
        yield from norm(p + ".norm1", H, VISION, True)
        yield from norm(p + ".norm2", H, VISION, True)


def approximate(config) -> list[ExpectedTensor]:
    c = canonical(config)
    return build(_Generic(c), c, {}, "generic")


def meta_build(config) -> list[ExpectedTensor] | None:
    """Exact inventory from transformers' meta-device build, or None when the extra is not installed, the class
    is unknown to transformers (remote code) or the build fails."""
    try:
        import torch
        import transformers
        from transformers.modeling_utils import remove_tied_weights_from_state_dict
    except Exception:  # noqa: BLE001 - the optional extra is absent or broken
        return None
    arch = config.architectures[0] if config.architectures else None
    cls = getattr(transformers, arch, None) if arch else None
    if cls is None or not config.model_type:
        return None
    try:
        from transformers import AutoConfig

        kw = {k: v for k, v in config.full.items() if k not in ("model_type", "transformers_version", "auto_map")}
        cfg = AutoConfig.for_model(config.model_type, **kw)
        name = config.dtype or "F32"
        tdt = {"BF16": torch.bfloat16, "F16": torch.float16}.get(name, torch.float32)
        with torch.device("meta"):
            model = cls._from_config(cfg, dtype=tdt)
        sd = model.state_dict()
        for key in model._keys_to_ignore_on_save or ():
            sd.pop(key, None)
        sd = remove_tied_weights_from_state_dict(sd, model)
        try:
            from transformers.core_model_loading import revert_weight_conversion

            sd = revert_weight_conversion(model, sd)
        except ImportError:
            pass
    except Exception:  # noqa: BLE001 - a config transformers cannot build: fall through to the estimate
        return None
    from ..classify import classify

    st = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16", torch.int64: "I64",
          torch.bool: "BOOL", torch.float64: "F64", torch.int32: "I32", torch.uint8: "U8"}
    out = []
    for n, t in sd.items():
        out.append(ExpectedTensor(n, st.get(t.dtype, "F32"), tuple(t.shape), classify(n, config).component,
                                  "transformers meta build"))
    return out


_LAST: list = [None, None]  #: (config, result): a report asks twice for the same config


def estimate_inventory(config, allow_meta: bool = True) -> tuple[list[ExpectedTensor] | None, str | None, str]:
    """(inventory, basis, why) for a config no family rules cover: basis ``transformers meta build`` or
    ``approximate``; (None, None, reason) when even the estimate cannot be made."""
    if _LAST[0] is config and allow_meta:
        return _LAST[1]
    res = _estimate(config, allow_meta)
    if allow_meta:
        _LAST[:] = [config, res]
    return res


def _estimate(config, allow_meta):
    """(inventory, basis, why) for a config no family rules cover: basis ``transformers meta build`` or
    ``approximate``; (None, None, reason) when even the estimate cannot be made."""
    inv = None
    if allow_meta:
        try:
            approx = approximate(config)  # bounded: refuses absurd configs before transformers is asked
        except PredictionError as e:
            return None, None, str(e)
        except (TypeError, ValueError, KeyError, AttributeError, ZeroDivisionError) as e:
            return None, None, f"malformed field ({type(e).__name__})"
        inv = meta_build(config)
        if inv:
            return inv, META, f"built by transformers {__import__('transformers').__version__} on the meta device"
        return approx, APPROX, ("generic decoder estimate from the common config keys (install ckptscope[transformers]"
                                " for an exact meta-device build)")
    try:
        return approximate(config), APPROX, "generic decoder estimate from the common config keys"
    except PredictionError as e:
        return None, None, str(e)
    except (TypeError, ValueError, KeyError, AttributeError, ZeroDivisionError) as e:
        return None, None, f"malformed field ({type(e).__name__})"


__all__ = ["APPROX", "META", "Dims", "LIN", "approximate", "estimate_inventory", "meta_build"]
