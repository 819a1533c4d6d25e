#!/usr/bin/env python3
"""Tiny random Qwen3.5 models, their GGUFs and Hugging Face's logits: the parity fixtures.

For each fixture in FIXTURES this writes, under --out:
  <name>.gguf        the model as llama.cpp's convert_hf_to_gguf.py writes Qwen3.5
                     (arch "qwen35", its hparam keys and tensor names, "+1" norms except
                     ssm_norm, ssm_a = -exp(A_log), V heads reordered grouped -> tiled,
                     conv squeezed, no output.weight when tied, a gpt2-style vocab)
  <name>.tokens.i32  the token ids fed, int32 little-endian [n_tokens]
  <name>.logits.f32  transformers' Qwen3_5ForCausalLM logits at every position, computed in
                     float64 on the CPU and stored float32 little-endian [n_tokens, n_vocab]
  <name>.json        the configuration and how the logits were checked

Every parameter is random (norm weights, A_log, dt_bias and conv taps included), so no
weight is trivially 0 or 1. The same logits are recomputed by tools/qwen35_ref.py (float64
NumPy, one token at a time) from the GGUF just written and from the HF parameters; the run
fails unless both agree with transformers (relative L2 per position below 1e-6 when
transformers' float32 islands could be lifted to float64, else below 1e-4).

Run where torch + transformers >= 5 (Qwen3.5) + numpy + gguf are installed:
    python3 tools/make_fixtures.py --out tests/data
--no-hf writes the NumPy logits instead (no torch needed; for trying the pipeline only).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import traceback

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qwen35_ref as ref  # noqa: E402

N_TOKENS = 320

# Sizes keep tests/data at a few MB. Together they cover: Hv = 2*Hk with 8 layers (two
# attention layers), the real head sizes (dk = dv = 128, head_dim = 256) with F16 weights,
# Hv = 3*Hk with dk != dv and a layer count that is not a multiple of the interval, tied
# and untied LM heads.
# MoE fixtures (arch qwen35moe: Qwen3_5MoeForCausalLM, tiled V heads in the GGUF; qwen3next:
# Qwen3NextForCausalLM, grouped V heads, packed in_proj_qkvz / in_proj_ba) route through a
# shared expert and n_expert experts, top-k; router_std is the router logits' spread.
FIXTURES = [
    dict(name="qwen35moe_e16_top4_f16", arch="qwen35moe", seed=404, ftype="f16", tied=False, n_layer=6,
         n_embd=64, n_ff=0, n_vocab=288, hk=2, hv=4, dk=128, dv=128, n_head=2, n_head_kv=1, head_dim=256,
         n_expert=16, n_expert_used=4, n_ff_exp=32, n_ff_shexp=48, router_std=2.5),
    dict(name="qwen3next_e8_top2", arch="qwen3next", seed=505, ftype="f32", tied=True, n_layer=5,
         n_embd=64, n_ff=96, n_vocab=288, hk=2, hv=4, dk=128, dv=128, n_head=2, n_head_kv=1, head_dim=256,
         n_expert=8, n_expert_used=2, n_ff_exp=32, n_ff_shexp=32, router_std=2.5),
    dict(name="qwen35_r2_tied", seed=101, ftype="f32", tied=True, n_layer=8, n_embd=64, n_ff=128,
         n_vocab=384, hk=2, hv=4, dk=32, dv=32, n_head=4, n_head_kv=2, head_dim=64),
    dict(name="qwen35_r2_real_heads_f16", seed=202, ftype="f16", tied=False, n_layer=4, n_embd=64,
         n_ff=128, n_vocab=288, hk=1, hv=2, dk=128, dv=128, n_head=2, n_head_kv=1, head_dim=256),
    dict(name="qwen35_r3_untied", seed=303, ftype="f32", tied=False, n_layer=5, n_embd=64, n_ff=96,
         n_vocab=320, hk=2, hv=6, dk=32, dv=48, n_head=4, n_head_kv=1, head_dim=32),
]
CONV_KERNEL = 4
ROPE_THETA = 1e7
PARTIAL_ROTARY = 0.25
RMS_EPS = 1e-6
INTERVAL = 4
# Every routing decision of the float64 decode must clear this gap between the k-th and (k+1)-th
# router logit, so float32 decoders (error ~1e-5 relative) choose the same experts: the
# generator resamples a token whose step would route closer than this.
MIN_ROUTER_LOGIT_GAP = 0.05


def config_of(s: dict, order: str) -> ref.Config:
    # eps as the GGUF stores it (float32), so the two NumPy decodes differ only in layout
    return ref.Config(n_vocab=s["n_vocab"], n_embd=s["n_embd"], n_layer=s["n_layer"], n_ff=s["n_ff"],
                      full_attention_interval=INTERVAL, ssm_n_k_heads=s["hk"], ssm_n_v_heads=s["hv"],
                      ssm_d_k=s["dk"], ssm_d_v=s["dv"], ssm_conv_kernel=CONV_KERNEL,
                      n_head=s["n_head"], n_head_kv=s["n_head_kv"], head_dim=s["head_dim"],
                      n_rot=int(s["head_dim"] * PARTIAL_ROTARY), rope_theta=ROPE_THETA,
                      rms_eps=float(np.float32(RMS_EPS)), tied=s["tied"], v_head_order=order,
                      n_expert=s.get("n_expert", 0), n_expert_used=s.get("n_expert_used", 0),
                      n_ff_exp=s.get("n_ff_exp", 0), n_ff_shexp=s.get("n_ff_shexp", 0))


def arch_of(s: dict) -> str:
    return s.get("arch", "qwen35")


def mrope_section(n_rot: int) -> list[int]:
    """Qwen3.5's [11, 11, 10] scaled to n_rot/2 frequencies (text positions make it moot)."""
    half = n_rot // 2
    t = round(half * 11 / 32)
    h = round(half * 11 / 32)
    return [t, h, half - t - h]


def make_params(s: dict) -> dict[str, np.ndarray]:
    """HF-named parameters (HF shapes), all float32 values; matrices F16-exact for f16 fixtures."""
    rng = np.random.default_rng(s["seed"])
    c = config_of(s, "grouped")
    E, F, V = c.n_embd, c.n_ff, c.n_vocab
    p: dict[str, np.ndarray] = {}

    def mat(name: str, rows: int, cols: int, std: float | None = None):
        a = rng.normal(0.0, std if std is not None else cols ** -0.5, size=(rows, cols))
        if s["ftype"] == "f16":
            a = a.astype(np.float16)
        p[name] = a.astype(np.float32)

    def centred_norm(name: str, n: int):
        # zero-centred HF weight; a multiple of 2^-12 so that 1 + w is exact in float32
        p[name] = (np.round(rng.uniform(-0.3, 0.3, size=n) * 4096) / 4096).astype(np.float32)

    mat("model.embed_tokens.weight", V, E, std=0.3)
    for il in range(c.n_layer):
        pre = f"model.layers.{il}."
        if c.is_attention(il):
            a = pre + "self_attn."
            mat(a + "q_proj.weight", 2 * c.n_head * c.head_dim, E)
            mat(a + "k_proj.weight", c.n_head_kv * c.head_dim, E)
            mat(a + "v_proj.weight", c.n_head_kv * c.head_dim, E)
            mat(a + "o_proj.weight", E, c.n_head * c.head_dim)
            centred_norm(a + "q_norm.weight", c.head_dim)
            centred_norm(a + "k_norm.weight", c.head_dim)
        else:
            a = pre + "linear_attn."
            p[a + "dt_bias"] = rng.normal(0.0, 0.5, size=c.ssm_n_v_heads).astype(np.float32)
            # A in [0.02, 1.5]: per-step decays from ~0.99 (long memory) to ~0.1
            p[a + "A_log"] = np.log(rng.uniform(0.02, 1.5, size=c.ssm_n_v_heads)).astype(np.float32)
            p[a + "conv1d.weight"] = rng.normal(0.0, 0.5, size=(c.conv_dim, 1, CONV_KERNEL)).astype(np.float32)
            p[a + "norm.weight"] = rng.uniform(0.5, 1.5, size=c.ssm_d_v).astype(np.float32)
            mat(a + "out_proj.weight", E, c.ssm_n_v_heads * c.ssm_d_v)
            if arch_of(s) == "qwen3next":  # packed per key head: [q k v z] and [b a]
                mat(a + "in_proj_qkvz.weight", c.conv_dim + c.ssm_n_v_heads * c.ssm_d_v, E)
                mat(a + "in_proj_ba.weight", 2 * c.ssm_n_v_heads, E)
            else:
                mat(a + "in_proj_qkv.weight", c.conv_dim, E)
                mat(a + "in_proj_z.weight", c.ssm_n_v_heads * c.ssm_d_v, E)
                mat(a + "in_proj_b.weight", c.ssm_n_v_heads, E)
                mat(a + "in_proj_a.weight", c.ssm_n_v_heads, E)
        if c.n_expert:
            m = pre + "mlp."
            mat(m + "gate.weight", c.n_expert, E, std=s["router_std"] * E ** -0.5)
            gu = rng.normal(0.0, E ** -0.5, size=(c.n_expert, 2 * c.n_ff_exp, E))
            dn = rng.normal(0.0, c.n_ff_exp ** -0.5, size=(c.n_expert, E, c.n_ff_exp))
            if s["ftype"] == "f16":
                gu, dn = gu.astype(np.float16), dn.astype(np.float16)
            p[m + "experts.gate_up_proj"] = gu.astype(np.float32)
            p[m + "experts.down_proj"] = dn.astype(np.float32)
            mat(m + "shared_expert.gate_proj.weight", c.n_ff_shexp, E)
            mat(m + "shared_expert.up_proj.weight", c.n_ff_shexp, E)
            mat(m + "shared_expert.down_proj.weight", E, c.n_ff_shexp)
            mat(m + "shared_expert_gate.weight", 1, E, std=E ** -0.5)
            if s["ftype"] == "f16":  # the converter keeps router and shared gate in F32
                p[m + "gate.weight"] = rng.normal(0.0, s["router_std"] * E ** -0.5,
                                                  size=(c.n_expert, E)).astype(np.float32)
                p[m + "shared_expert_gate.weight"] = rng.normal(0.0, E ** -0.5, size=(1, E)).astype(np.float32)
        else:
            mat(pre + "mlp.gate_proj.weight", F, E)
            mat(pre + "mlp.up_proj.weight", F, E)
            mat(pre + "mlp.down_proj.weight", E, F)
        centred_norm(pre + "input_layernorm.weight", E)
        centred_norm(pre + "post_attention_layernorm.weight", E)
    centred_norm("model.norm.weight", E)
    if not s["tied"]:
        mat("lm_head.weight", V, E, std=0.3)
    return p


# ---------------------------------------------------------------------------------------
# GGUF, the way convert_hf_to_gguf.py's Qwen3_5TextModel (-> _LinearAttentionVReorderBase
# -> Qwen3NextModel -> Qwen2MoeModel -> TextModel) writes a Qwen3_5ForCausalLM checkpoint.

HF_TO_GGUF = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
    "input_layernorm.weight": "attn_norm.weight",
    "post_attention_layernorm.weight": "post_attention_norm.weight",
    "linear_attn.in_proj_qkv.weight": "attn_qkv.weight",
    "linear_attn.in_proj_z.weight": "attn_gate.weight",
    "linear_attn.in_proj_b.weight": "ssm_beta.weight",
    "linear_attn.in_proj_a.weight": "ssm_alpha.weight",
    "linear_attn.conv1d.weight": "ssm_conv1d.weight",
    "linear_attn.A_log": "ssm_a",
    "linear_attn.dt_bias": "ssm_dt.bias",
    "linear_attn.norm.weight": "ssm_norm.weight",
    "linear_attn.out_proj.weight": "ssm_out.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "self_attn.q_norm.weight": "attn_q_norm.weight",
    "self_attn.k_norm.weight": "attn_k_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
    "linear_attn.in_proj_ba.weight": "ssm_ba.weight",  # qwen3next, written as is
    "mlp.gate.weight": "ffn_gate_inp.weight",
    "mlp.experts.down_proj": "ffn_down_exps.weight",
    "mlp.shared_expert.gate_proj.weight": "ffn_gate_shexp.weight",
    "mlp.shared_expert.up_proj.weight": "ffn_up_shexp.weight",
    "mlp.shared_expert.down_proj.weight": "ffn_down_shexp.weight",
    "mlp.shared_expert_gate.weight": "ffn_gate_inp_shexp.weight",
}


def gguf_name(hf: str) -> str:
    if hf in HF_TO_GGUF:
        return HF_TO_GGUF[hf]
    parts = hf.split(".", 3)  # model.layers.<i>.<rest>
    assert parts[0] == "model" and parts[1] == "layers", hf
    return f"blk.{parts[2]}.{HF_TO_GGUF[parts[3]]}"


def convert_tensor(s: dict, hf: str, data: np.ndarray) -> np.ndarray:
    """The converter's per-tensor transform, in its order: V-head reorder, then A_log ->
    -exp, conv squeeze, norm + 1 (every *norm.weight but linear_attn.norm.weight)."""
    hk, hv, dk, dv = s["hk"], s["hv"], s["dk"], s["dv"]
    r = hv // hk
    x = data.astype(np.float64)
    if hk != hv and "linear_attn." in hf and arch_of(s) != "qwen3next":  # Qwen3NextModel does not reorder
        if ".in_proj_qkv." in hf:
            qk = 2 * hk * dk
            x = np.concatenate([x[:qk], ref.grouped_to_tiled(x[qk:], 0, hk, r, dv)], axis=0)
        elif ".in_proj_z." in hf:
            x = ref.grouped_to_tiled(x, 0, hk, r, dv)
        elif ".in_proj_b." in hf or ".in_proj_a." in hf:
            x = ref.grouped_to_tiled(x, 0, hk, r, 1)
        elif hf.endswith(".A_log") or hf.endswith(".dt_bias"):
            x = ref.grouped_to_tiled(x, 0, hk, r, 1)
        elif ".conv1d." in hf:
            x = x.squeeze()
            qk = 2 * hk * dk
            x = np.concatenate([x[:qk], ref.grouped_to_tiled(x[qk:], 0, hk, r, dv)], axis=0)
        elif ".out_proj." in hf:
            x = ref.grouped_to_tiled(x, 1, hk, r, dv)
    if hf.endswith(".A_log"):
        x = -np.exp(x)
    elif "conv1d" in hf:
        x = x.squeeze()
    elif hf.endswith("norm.weight") and not hf.endswith("linear_attn.norm.weight"):
        x = x + 1.0
    return x


def gguf_dtype(s: dict, name: str, x: np.ndarray):
    """--outtype f32 keeps everything F32; f16 stores matrices F16 but keeps 1-D tensors,
    norms and the conv taps F32, as the converter does."""
    if (s["ftype"] == "f32" or x.ndim <= 1 or name.endswith("_norm.weight") or "ssm_conv1d" in name
            or "ffn_gate_inp" in name):  # router and shared-expert gate: forced F32 (ffn_gate_inp*)
        return np.float32
    return np.float16


def byte_to_unicode() -> dict[int, str]:
    """GPT-2's byte-level alphabet: printable Latin-1 bytes stand for themselves, the
    others are shifted to code points 256 and up."""
    keep = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def make_vocab(n_vocab: int):
    """256 byte tokens, letter-pair merges, then three Qwen-style control tokens."""
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    b2u = byte_to_unicode()
    tokens = [b2u[b] for b in range(256)]
    letters = "etaoinshrdlucmfwypvbgkjqxz"
    merges = []
    pairs = ((x, y) for x in letters for y in letters)
    while len(tokens) < n_vocab - len(specials):
        x, y = next(pairs)
        tokens.append(x + y)
        merges.append(f"{x} {y}")
    types = [1] * len(tokens) + [3] * len(specials)  # NORMAL, CONTROL
    tokens += specials
    assert len(tokens) == n_vocab
    return tokens, types, merges, n_vocab - 3, n_vocab - 1  # ..., pad (<|endoftext|>), eos (<|im_end|>)


def write_gguf(s: dict, p: dict[str, np.ndarray], path: str) -> dict[str, tuple]:
    import gguf

    arch = arch_of(s)
    c = config_of(s, "grouped" if arch == "qwen3next" else "tiled")
    w = gguf.GGUFWriter(path, arch)
    w.add_type(gguf.GGUFType.MODEL)
    w.add_name(s["name"])
    w.add_block_count(c.n_layer)
    w.add_context_length(4096)
    w.add_embedding_length(c.n_embd)
    if c.n_ff:  # Qwen3_5MoeTextConfig has no intermediate_size: the converter writes none
        w.add_feed_forward_length(c.n_ff)
    w.add_head_count(c.n_head)
    w.add_head_count_kv(c.n_head_kv)
    if c.n_expert:  # TextModel + Qwen2MoeModel.set_gguf_parameters
        w.add_expert_count(c.n_expert)
        w.add_expert_used_count(c.n_expert_used)
        w.add_expert_feed_forward_length(c.n_ff_exp)
        w.add_expert_shared_feed_forward_length(c.n_ff_shexp)
    if arch != "qwen3next":  # _Qwen35MRopeMixin; Qwen3-Next uses plain NeoX rope
        w.add_rope_dimension_sections(mrope_section(c.n_rot) + [0])
    w.add_rope_freq_base(ROPE_THETA)
    w.add_layer_norm_rms_eps(RMS_EPS)
    w.add_key_length(c.head_dim)
    w.add_value_length(c.head_dim)
    w.add_file_type(gguf.LlamaFileType.ALL_F32 if s["ftype"] == "f32" else gguf.LlamaFileType.MOSTLY_F16)
    w.add_ssm_conv_kernel(CONV_KERNEL)
    w.add_ssm_state_size(c.ssm_d_k)
    w.add_ssm_group_count(c.ssm_n_k_heads)
    w.add_ssm_time_step_rank(c.ssm_n_v_heads)
    w.add_ssm_inner_size(c.ssm_d_v * c.ssm_n_v_heads)
    if arch == "qwen3next":  # Qwen3NextModel writes these when the config has layer_types
        w.add_array(f"{arch}.attention.recurrent_layers", [not c.is_attention(i) for i in range(c.n_layer)])
    w.add_full_attention_interval(INTERVAL)
    w.add_rope_dimension_count(c.n_rot)
    tokens, types, merges, pad, eos = make_vocab(c.n_vocab)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen35")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_eos_token_id(eos)
    w.add_pad_token_id(pad)
    w.add_add_bos_token(False)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    expected = {}

    def put(name: str, x: np.ndarray):
        x = np.ascontiguousarray(x.astype(gguf_dtype(s, name, x)))
        w.add_tensor(name, x)
        expected[name] = (tuple(reversed(x.shape)), x.dtype, x)

    for hf, data in p.items():
        x = convert_tensor(s, hf, data)
        if hf.endswith("mlp.experts.gate_up_proj"):  # Qwen2MoeModel: split on dim -2
            base = gguf_name(hf.replace("experts.gate_up_proj", "experts.down_proj"))
            put(base.replace("ffn_down_exps", "ffn_gate_exps"), x[:, : s["n_ff_exp"]])
            put(base.replace("ffn_down_exps", "ffn_up_exps"), x[:, s["n_ff_exp"]:])
        elif hf.endswith("linear_attn.in_proj_qkvz.weight"):  # Qwen3NextModel.modify_tensors
            qkv, z = ref.unpack_qkvz(x, config_of(s, "grouped"))
            base = gguf_name(hf.replace("in_proj_qkvz", "in_proj_qkv"))
            put(base, qkv)
            put(base.replace("attn_qkv", "attn_gate"), z)
        else:
            put(gguf_name(hf), x)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return expected


def verify_gguf(path: str, expected: dict[str, tuple], arch: str) -> None:
    """Read the file back: the same tensor names, ggml shapes (ne), types and bytes."""
    import gguf

    r = gguf.GGUFReader(path)
    got = {t.name: t for t in r.tensors}
    assert set(got) == set(expected), (sorted(set(got) ^ set(expected)))
    for name, (ne, dtype, x) in expected.items():
        t = got[name]
        assert tuple(int(n) for n in t.shape) == ne, (name, t.shape, ne)
        want = gguf.GGMLQuantizationType.F32 if dtype == np.float32 else gguf.GGMLQuantizationType.F16
        assert t.tensor_type == want, (name, t.tensor_type)
        assert np.array_equal(np.asarray(t.data).reshape(x.shape), x), name
    assert r.fields["general.architecture"].contents() == arch


# ---------------------------------------------------------------------------------------
# transformers

# transformers' classes per architecture: (module, model, config, class-name prefix, rotary class)
HF_CLASSES = {
    "qwen35": ("qwen3_5.modeling_qwen3_5", "Qwen3_5ForCausalLM", "Qwen3_5TextConfig", "Qwen3_5",
               "Qwen3_5TextRotaryEmbedding"),
    "qwen35moe": ("qwen3_5_moe.modeling_qwen3_5_moe", "Qwen3_5MoeForCausalLM", "Qwen3_5MoeTextConfig", "Qwen3_5Moe",
                  "Qwen3_5MoeTextRotaryEmbedding"),
    "qwen3next": ("qwen3_next.modeling_qwen3_next", "Qwen3NextForCausalLM", "Qwen3NextConfig", "Qwen3Next",
                  "Qwen3NextRotaryEmbedding"),
}


@contextlib.contextmanager
def float64_islands_removed(mq, model, n_rot: int, counts: dict[str, int], arch: str = "qwen35"):
    """Run transformers' Qwen3.5 with its float32 islands (RMSNorm, gated norm, rotary
    tables, the chunked delta rule) in float64. Same math; `counts` shows what was hit."""
    import torch
    import torch.nn.functional as F

    saved = []

    def patch(obj, attr, fn):
        saved.append((obj, attr, getattr(obj, attr)))
        setattr(obj, attr, fn)

    def rms_forward(self, x):
        counts["rms"] += 1
        eps = getattr(self, "eps", None) or getattr(self, "variance_epsilon")
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * (1.0 + self.weight)

    def gated_forward(self, hidden_states, gate=None):
        counts["gated"] += 1
        eps = getattr(self, "variance_epsilon", None) or getattr(self, "eps")
        h = hidden_states * torch.rsqrt(hidden_states.pow(2).mean(-1, keepdim=True) + eps)
        return self.weight * h * F.silu(gate)

    def rope_forward(self, x, position_ids):
        counts["rope"] += 1
        pos = position_ids
        if pos.ndim == 3:
            assert all(torch.equal(pos[0], pos[i]) for i in range(pos.shape[0])), "non-text positions"
            pos = pos[0]
        theta = float(self.config.rope_parameters["rope_theta"])
        inv = 1.0 / (theta ** (torch.arange(0, n_rot, 2, dtype=torch.float64) / n_rot))
        freqs = pos.to(torch.float64)[..., None] * inv
        emb = torch.cat([freqs, freqs], dim=-1)
        return emb.cos().to(x.dtype), emb.sin().to(x.dtype)

    def delta_rule(query, key, value, g, beta, initial_state=None, output_final_state=False,
                   use_qk_l2norm_in_kernel=False, **kwargs):
        counts["delta"] += 1
        dt = query.dtype
        q, k, v, g, b = (t.to(torch.float64) for t in (query, key, value, g, beta))
        n_v, n_k = v.shape[2], k.shape[2]
        if n_k != n_v:
            q = q.repeat_interleave(n_v // n_k, dim=2)
            k = k.repeat_interleave(n_v // n_k, dim=2)
        if use_qk_l2norm_in_kernel:
            q = q * torch.rsqrt((q * q).sum(-1, keepdim=True) + 1e-6)
            k = k * torch.rsqrt((k * k).sum(-1, keepdim=True) + 1e-6)
        q = q / (q.shape[-1] ** 0.5)
        B, T, H, dk = k.shape
        S = (torch.zeros(B, H, dk, v.shape[-1], dtype=torch.float64) if initial_state is None
             else initial_state.to(torch.float64).clone())
        out = torch.empty_like(v)
        for t in range(T):
            S = S * g[:, t].exp()[..., None, None]
            m = torch.einsum("bhkv,bhk->bhv", S, k[:, t])
            d = (v[:, t] - m) * b[:, t][..., None]
            S = S + k[:, t][..., :, None] * d[..., None, :]
            out[:, t] = torch.einsum("bhkv,bhk->bhv", S, q[:, t])
        return out.to(dt), (S if output_final_state else None)

    def router_forward(self, hidden_states):
        # TopKRouter with its softmax in float64 (transformers: dtype=torch.float); same top-k,
        # renormalised as norm_topk_prob says (Qwen3.5-MoE always renormalises)
        counts["router"] += 1
        h = hidden_states.reshape(-1, self.hidden_dim)
        logits = F.linear(h, self.weight)
        probs = torch.softmax(logits.to(torch.float64), dim=-1)
        top, idx = torch.topk(probs, self.top_k, dim=-1)
        if getattr(self, "norm_topk_prob", True):
            top = top / top.sum(dim=-1, keepdim=True)
        return logits, top.to(logits.dtype), idx

    pre, rotary = HF_CLASSES[arch][3], HF_CLASSES[arch][4]
    try:
        patch(getattr(mq, pre + "RMSNorm"), "forward", rms_forward)
        patch(getattr(mq, pre + "RMSNormGated"), "forward", gated_forward)
        patch(getattr(mq, rotary), "forward", rope_forward)
        if hasattr(mq, pre + "TopKRouter"):
            patch(getattr(mq, pre + "TopKRouter"), "forward", router_forward)
        names = ("torch_chunk_gated_delta_rule", "torch_recurrent_gated_delta_rule",
                 "chunk_gated_delta_rule", "recurrent_gated_delta_rule", "fused_recurrent_gated_delta_rule")
        gdn_cls = getattr(mq, pre + "GatedDeltaNet")
        for fn in names:
            if hasattr(mq, fn):
                patch(mq, fn, delta_rule)
            if fn in vars(gdn_cls):
                patch(gdn_cls, fn, staticmethod(delta_rule))
            for mod in model.modules():
                if isinstance(mod, gdn_cls) and fn in vars(mod):
                    patch(mod, fn, delta_rule)
        yield patch
    finally:
        for obj, attr, old in reversed(saved):
            setattr(obj, attr, old)


def hf_logits(s: dict, p: dict[str, np.ndarray], tokens: np.ndarray, log) -> tuple[np.ndarray, dict]:
    import importlib

    import torch
    import transformers

    arch = arch_of(s)
    mod_name, model_name, config_name, _, _ = HF_CLASSES[arch]
    mq = importlib.import_module("transformers.models." + mod_name)
    model_cls, config_cls = getattr(transformers, model_name), getattr(transformers, config_name)

    c = config_of(s, "grouped")
    layer_types = ["full_attention" if c.is_attention(i) else "linear_attention" for i in range(c.n_layer)]
    rope = {"rope_type": "default", "rope_theta": ROPE_THETA, "partial_rotary_factor": PARTIAL_ROTARY}
    if arch != "qwen3next":  # Qwen3.5's interleaved M-RoPE (text positions: plain NeoX)
        rope.update(mrope_section=mrope_section(c.n_rot), mrope_interleaved=True)
    kw = dict(
        vocab_size=c.n_vocab, hidden_size=c.n_embd,
        num_hidden_layers=c.n_layer, num_attention_heads=c.n_head, num_key_value_heads=c.n_head_kv,
        head_dim=c.head_dim, linear_conv_kernel_dim=CONV_KERNEL, linear_key_head_dim=c.ssm_d_k,
        linear_value_head_dim=c.ssm_d_v, linear_num_key_heads=c.ssm_n_k_heads,
        linear_num_value_heads=c.ssm_n_v_heads, layer_types=layer_types, rms_norm_eps=RMS_EPS,
        tie_word_embeddings=c.tied, max_position_embeddings=4096, rope_parameters=rope)
    if arch != "qwen35moe":  # Qwen3_5MoeTextConfig has no dense width
        kw["intermediate_size"] = c.n_ff
    if c.n_expert:
        kw.update(num_experts=c.n_expert, num_experts_per_tok=c.n_expert_used,
                  moe_intermediate_size=c.n_ff_exp, shared_expert_intermediate_size=c.n_ff_shexp,
                  experts_implementation="eager")  # the per-expert loop, in float64 on the CPU
    if arch == "qwen3next":
        kw.update(norm_topk_prob=True, decoder_sparse_step=1, mlp_only_layers=[])
    cfg = config_cls(**kw)
    torch.manual_seed(0)
    model = model_cls(cfg).eval().to(torch.float64)
    inv_freq = model.model.rotary_emb.inv_freq
    assert inv_freq.numel() == c.n_rot // 2, f"HF rotates {2 * inv_freq.numel()} dims, expected {c.n_rot}"

    params = dict(model.named_parameters())
    missing, extra = sorted(set(p) - set(params)), sorted(set(params) - set(p))
    assert not missing and not extra, f"parameter names differ: ours only {missing}, HF only {extra}"
    with torch.no_grad():
        for name, t in params.items():
            assert tuple(t.shape) == p[name].shape, (name, tuple(t.shape), p[name].shape)
            t.copy_(torch.from_numpy(p[name].astype(np.float64)))
    lm, emb = model.lm_head.weight, model.model.embed_tokens.weight
    assert (lm.data_ptr() == emb.data_ptr()) == c.tied, "lm_head tying differs from the config"

    ids = torch.from_numpy(tokens.astype(np.int64))[None]
    with torch.no_grad():
        plain = model(input_ids=ids, use_cache=False).logits[0].numpy().astype(np.float64)
        counts = {"rms": 0, "gated": 0, "rope": 0, "delta": 0, "router": 0}
        try:
            with float64_islands_removed(mq, model, c.n_rot, counts, arch):
                pure = model(input_ids=ids, use_cache=False).logits[0].numpy().astype(np.float64)
        except Exception:
            log("  the all-float64 run failed; keeping transformers' own precision:\n" + traceback.format_exc())
            pure = np.full_like(plain, np.inf)
    n_gdn = sum(not c.is_attention(i) for i in range(c.n_layer))
    hit = (counts["delta"] == n_gdn and counts["gated"] == n_gdn and counts["rope"] >= 1 and counts["rms"] > 0
           and counts["router"] == (c.n_layer if c.n_expert else 0))
    diff = float(ref.rel_l2_rows(pure, plain).max())
    log(f"  HF float64 with float32 islands vs all-float64: max rel L2 {diff:.3e}; patches hit {counts}")
    use_pure = hit and diff < 1e-4
    info = {"transformers": transformers.__version__, "torch": torch.__version__,
            "attn_implementation": getattr(model.config, "_attn_implementation", None),
            "experts_implementation": getattr(model.config, "_experts_implementation", None),
            "float32_islands_removed": use_pure, "islands_effect_max_rel_l2": diff,
            "patch_counts": counts}
    return (pure if use_pure else plain), info


# ---------------------------------------------------------------------------------------

def pick_tokens(w: "ref.Weights", n_tokens: int, rng) -> tuple[np.ndarray, int]:
    """Random tokens, except that a draw whose step routes some layer within
    MIN_ROUTER_LOGIT_GAP of a tie (k-th vs (k+1)-th router logit) is taken back and redrawn."""
    st = ref.Stepper(w)
    tokens: list[int] = []
    resampled = 0
    while len(tokens) < n_tokens:
        snap = st.snapshot()
        tok = int(rng.integers(0, w.config.n_vocab))
        st.step(tok)
        if st.min_gap_logit >= MIN_ROUTER_LOGIT_GAP:
            tokens.append(tok)
            continue
        st.restore(snap)
        resampled += 1
        assert resampled < 50 * n_tokens, "no token keeps the routing clear: raise router_std"
    return np.asarray(tokens, dtype=np.int32), resampled


def make_one(s: dict, out: str, use_hf: bool, n_tokens: int, log) -> None:
    t0 = time.time()
    name = s["name"]
    p = make_params(s)
    rng = np.random.default_rng(s["seed"] + 1)
    gguf_path = os.path.join(out, name + ".gguf")
    expected = write_gguf(s, p, gguf_path)
    verify_gguf(gguf_path, expected, arch_of(s))
    if s.get("n_expert"):
        tokens, resampled = pick_tokens(ref.load_gguf(gguf_path), n_tokens, rng)
        log(f"{name}: {resampled} token draws resampled to keep router gaps >= {MIN_ROUTER_LOGIT_GAP}")
    else:
        tokens = rng.integers(0, s["n_vocab"], size=n_tokens).astype(np.int32)

    gaps: list = []
    from_gguf = ref.decode(ref.load_gguf(gguf_path), tokens, gaps=gaps)
    from_hf_params = ref.decode(ref.from_hf(config_of(s, "grouped"), p), tokens)
    route_gap_logit = min((g[0] for g in gaps), default=float("inf"))
    route_gap_p = min((g[1] for g in gaps), default=float("inf"))
    if s.get("n_expert"):
        log(f"  smallest top-{s['n_expert_used']} router gap over all positions and layers: "
            f"logit {route_gap_logit:.3g}, probability {route_gap_p:.3g}")
        assert route_gap_logit >= MIN_ROUTER_LOGIT_GAP, "routing too close to a tie: parity would be luck"
    conv_err = float(ref.rel_l2_rows(from_gguf, from_hf_params).max())
    log(f"{name}: numpy decode of the GGUF (tiled) vs of the HF params (grouped): max rel L2 {conv_err:.3e}")
    assert conv_err < 1e-10, "the GGUF conversion changed the model"

    info: dict = {}
    if use_hf:
        logits, info = hf_logits(s, p, tokens, log)
        truth = f"transformers {HF_CLASSES[arch_of(s)][1]}, float64, CPU"
    else:
        logits, truth = from_hf_params, "tools/qwen35_ref.py (NumPy float64), NOT transformers"
    err = float(ref.rel_l2_rows(from_gguf, logits).max())
    log(f"  numpy decode of the GGUF vs stored logits: max rel L2 {err:.3e}")
    # Even all-float64 transformers rounds the decay-gate input a to float32 (~1e-7 here);
    # decoding with that rounding too must then agree to ~1e-9. With transformers' own
    # float32 islands (RMSNorm, rotary tables, delta rule) expect ~1e-5.
    limit = 1e-6 if info.get("float32_islands_removed", True) else 1e-4
    assert err < limit, f"transformers disagrees with the NumPy decode of the GGUF ({err:.3e} >= {limit:g})"
    if use_hf:
        err_a32 = float(ref.rel_l2_rows(ref.decode(ref.load_gguf(gguf_path), tokens, a_in_float32=True),
                                        logits).max())
        info["numpy_gguf_with_a_in_float32_vs_logits_max_rel_l2"] = err_a32
        log(f"  same, with a rounded to float32 as transformers does: max rel L2 {err_a32:.3e}")

    top2 = np.sort(logits, axis=1)[:, -2:]
    gap = float(np.min(top2[:, 1] - top2[:, 0]))
    tokens.astype("<i4").tofile(os.path.join(out, name + ".tokens.i32"))
    logits.astype("<f4").tofile(os.path.join(out, name + ".logits.f32"))
    order = "grouped" if arch_of(s) == "qwen3next" else "tiled"
    c = config_of(s, order)
    keys = ["n_embd", "n_layer", "n_ff", "full_attention_interval", "ssm_n_k_heads", "ssm_n_v_heads",
            "ssm_d_k", "ssm_d_v", "ssm_conv_kernel", "n_head", "n_head_kv", "head_dim", "n_rot",
            "rope_theta", "rms_eps", "tied"]
    moe_checks = {}
    if c.n_expert:
        keys += ["n_expert", "n_expert_used", "n_ff_exp", "n_ff_shexp"]
        moe_checks = {"min_router_topk_logit_gap": route_gap_logit, "min_router_topk_prob_gap": route_gap_p,
                      "router_gap_threshold": MIN_ROUTER_LOGIT_GAP}
    meta = {
        "name": name, "arch": arch_of(s), "truth": truth, "seed": s["seed"], "weights": s["ftype"],
        "n_tokens": int(n_tokens), "n_vocab": c.n_vocab, "v_head_order_in_gguf": order,
        "config": {k: getattr(c, k) for k in keys},
        "checks": {"numpy_gguf_vs_numpy_hf_params_max_rel_l2": conv_err,
                   "numpy_gguf_vs_logits_max_rel_l2": err, "min_top2_logit_gap": gap, **moe_checks, **info},
        "files": {"gguf": name + ".gguf", "tokens": name + ".tokens.i32 (int32 LE)",
                  "logits": name + ".logits.f32 (float32 LE, [n_tokens, n_vocab])"},
    }
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    log(f"  wrote {name} ({os.path.getsize(gguf_path) / 1e6:.2f} MB gguf, min top-2 gap {gap:.3g}, "
        f"{time.time() - t0:.1f} s)")


def explore(path: str) -> None:
    """Dump the installed transformers' Qwen3.5 sources that the fixtures rely on."""
    import inspect

    import transformers
    import transformers.models.qwen3_5.modeling_qwen3_5 as mq
    from transformers import Qwen3_5TextConfig

    with open(path, "w") as f:
        f.write(f"transformers {transformers.__version__}\n")
        f.write(json.dumps(Qwen3_5TextConfig().to_dict(), indent=1, default=str) + "\n")
        for obj in (mq.Qwen3_5GatedDeltaNet, mq.Qwen3_5RMSNorm, mq.Qwen3_5RMSNormGated,
                    mq.Qwen3_5TextRotaryEmbedding, mq.Qwen3_5Attention, mq.Qwen3_5TextModel):
            f.write(f"\n##### {obj.__name__}\n")
            with contextlib.suppress(Exception):
                f.write(inspect.getsource(obj))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output folder (tests/data)")
    ap.add_argument("--only", nargs="*", help="fixture names to build (default: all)")
    ap.add_argument("--tokens", type=int, default=N_TOKENS)
    ap.add_argument("--no-hf", action="store_true", help="store the NumPy logits; no torch needed")
    ap.add_argument("--explore", help="also dump transformers' Qwen3.5 sources to this file")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.explore:
        try:
            explore(a.explore)
        except Exception as e:  # the fixtures matter more than the dump
            print(f"explore failed: {e!r}", flush=True)
    log = lambda m: print(m, flush=True)  # noqa: E731
    failed = []
    for s in FIXTURES:
        if a.only and s["name"] not in a.only:
            continue
        try:
            make_one(s, a.out, not a.no_hf, a.tokens, log)
        except Exception:
            log(f"{s['name']} FAILED:\n{traceback.format_exc()}")
            failed.append(s["name"])
    if failed:
        log(f"failed: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
