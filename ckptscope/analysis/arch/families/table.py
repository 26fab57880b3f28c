"""Decoder families that differ from Llama only in table values: bias flags, norm names and placement, q/k
norms, MLP style, MoE layout. Each entry is checked against transformers 5.23's meta-device build of the config
in fixtures/configs (tests/test_arch_oracle.py); ``defaults`` are the config class defaults for the fields the
rules read (transformers' ``configuration_<family>.py``), used when config.json leaves a field out.
"""

from ..decoder import Spec, SpecFamily

TF = "transformers 5.23 meta-device build (fixtures/oracle/transformers__{})"

LN = ("input_layernorm", "post_attention_layernorm")

SPECS = [
    Spec(("granite",), ("GraniteForCausalLM",), TF.format("granite"), qkv_bias="attention_bias",
         o_bias="attention_bias", mlp_bias="mlp_bias"),
    Spec(("smollm3",), ("SmolLM3ForCausalLM",), TF.format("smollm3"), tie=True, qkv_bias="attention_bias",
         o_bias="attention_bias", mlp_bias="mlp_bias"),
    Spec(("seed_oss",), ("SeedOssForCausalLM",), TF.format("seed_oss"), qkv_bias=("attention_bias", True),
         o_bias="attention_out_bias", mlp_bias="mlp_bias"),
    Spec(("internlm3",), ("InternLM3ForCausalLM",), "hand derivation from InternLM3's remote modeling code "
         "(Llama layout; qkv_bias on q/k/v, bias on o_proj)", qkv_bias="qkv_bias", o_bias="bias"),
    Spec(("ernie4_5",), ("Ernie4_5ForCausalLM",), TF.format("ernie4_5"), tie=True, qkv_bias="use_bias",
         o_bias="use_bias", mlp_bias="use_bias"),
    Spec(("hunyuan_v1_dense",), ("HunYuanDenseV1ForCausalLM",), TF.format("hunyuan_v1_dense"),
         qkv_bias="attention_bias", o_bias="attention_bias", mlp_bias="mlp_bias", qk_norm="head",
         qk_names=("query_layernorm", "key_layernorm")),
    Spec(("olmo2", "olmo3"), ("Olmo2ForCausalLM", "Olmo3ForCausalLM"), TF.format("olmo2"),
         qkv_bias="attention_bias", o_bias="attention_bias", qk_norm="full",
         norms=("post_attention_layernorm", "post_feedforward_layernorm")),
    Spec(("exaone4",), ("Exaone4ForCausalLM",), TF.format("exaone4"), qk_norm="head",
         norms=("post_attention_layernorm", "post_feedforward_layernorm")),
    Spec(("cohere",), ("CohereForCausalLM",), TF.format("cohere"), tie=True, qkv_bias="attention_bias",
         o_bias="attention_bias", qk_norm="head2d", qk_norm_on="use_qk_norm", norms=("input_layernorm",)),
    Spec(("cohere2",), ("Cohere2ForCausalLM",), TF.format("cohere2"), tie=True, qkv_bias="attention_bias",
         o_bias="attention_bias", norms=("input_layernorm",)),
    Spec(("stablelm", "stablelm_epoch"), ("StableLmForCausalLM", "StableLMEpochForCausalLM"), TF.format("stablelm"),
         qkv_bias="use_qkv_bias", norm_bias=True, qk_norm="perhead", qk_norm_on="qk_layernorm", norms=LN,
         parallel_norms=("input_layernorm",)),
    Spec(("starcoder2",), ("Starcoder2ForCausalLM",), TF.format("starcoder2"), tie=True,
         qkv_bias=("use_bias", True), o_bias=("use_bias", True), mlp="fc", mlp_bias=("use_bias", True),
         norm_bias=True),
    Spec(("glm4",), ("Glm4ForCausalLM",), TF.format("glm4"), qkv_bias=("attention_bias", True), mlp="fused",
         norms=("input_layernorm", "post_attention_layernorm", "post_self_attn_layernorm", "post_mlp_layernorm")),
    Spec(("glm",), ("GlmForCausalLM",), "transformers GlmForCausalLM layout (as glm4 without the extra norms)",
         qkv_bias=("attention_bias", True), mlp="fused"),
    Spec(("nemotron",), ("NemotronForCausalLM",), TF.format("nemotron"), qkv_bias="attention_bias",
         o_bias="attention_bias", mlp="updown", mlp_bias="mlp_bias", norm_bias=True),
    Spec(("helium",), ("HeliumForCausalLM",), "transformers HeliumForCausalLM layout (Llama)",
         qkv_bias="attention_bias", o_bias="attention_bias", mlp_bias="mlp_bias"),
    Spec(("minicpm",), ("MiniCPMForCausalLM",), "hand derivation from MiniCPM's remote modeling code (Llama layout, "
         "tied by default)", tie=True, qkv_bias="attention_bias", o_bias="attention_bias"),
    Spec(("arcee",), ("ArceeForCausalLM",), TF.format("arcee"), qkv_bias="attention_bias", o_bias="attention_bias",
         mlp="updown", mlp_bias="mlp_bias",
         defaults={"vocab_size": 32000, "hidden_size": 2560, "intermediate_size": 18432, "num_hidden_layers": 32,
                   "num_attention_heads": 32, "head_dim": 80, "tie_word_embeddings": False}),
    # --- MoE
    Spec(("olmoe",), ("OlmoeForCausalLM",), TF.format("olmoe"), qkv_bias="attention_bias", o_bias="attention_bias",
         qk_norm="full", moe="experts", moe_inter="intermediate_size"),
    Spec(("phimoe",), ("PhimoeForCausalLM",), TF.format("phimoe"), qkv_bias=("attention_bias", True),
         o_bias=("attention_bias", True), norm_bias=True, moe="mixtral", moe_name="block_sparse_moe",
         moe_inter="intermediate_size", head_bias="lm_head_bias"),
    Spec(("minimax_m2",), ("MiniMaxM2ForCausalLM",), TF.format("minimax_m2"), qk_norm="full", moe="mixtral",
         moe_name="block_sparse_moe", moe_inter="intermediate_size", router_bias="block",
         router_bias_dtype=None),
    Spec(("glm4_moe",), ("Glm4MoeForCausalLM",), TF.format("glm4_moe"), qkv_bias="attention_bias",
         qk_norm="head", qk_norm_on="use_qk_norm", moe="experts", router_bias="gate", shared="shared_experts",
         mtp="deepseek"),
    Spec(("exaone_moe",), ("ExaoneMoeForCausalLM",), TF.format("exaone_moe"), qk_norm="head", moe="experts",
         router_bias="block", router_bias_dtype=None, shared="shared_experts",
         defaults={"vocab_size": 102400, "hidden_size": 4096, "intermediate_size": 16384, "num_hidden_layers": 32,
                   "num_attention_heads": 32, "num_key_value_heads": 32, "tie_word_embeddings": False,
                   "first_k_dense_replace": 1, "moe_intermediate_size": 1024, "num_experts": 64,
                   "num_experts_per_tok": 8, "num_shared_experts": 1}),
    Spec(("ernie4_5_moe",), ("Ernie4_5_MoeForCausalLM",), TF.format("ernie4_5_moe"), tie=True,
         qkv_bias="use_bias", o_bias="use_bias", mlp_bias="use_bias", moe="experts", shared="shared_experts",
         router_dtype="F32", router_bias="statics"),
    Spec(("hunyuan_v1_moe",), ("HunYuanMoEV1ForCausalLM",), TF.format("hunyuan_v1_moe"),
         qkv_bias="attention_bias", o_bias="attention_bias", qk_norm="head",
         qk_names=("query_layernorm", "key_layernorm"), moe="experts", moe_inter="intermediate_size",
         router="gate.wg", router_dtype="F32", shared="shared_mlp", shared_inter="intermediate_size"),
]

FAMILY_LIST = [SpecFamily(s) for s in SPECS]
MODEL_TYPES = ()
