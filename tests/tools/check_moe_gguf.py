#!/usr/bin/env python3
"""Check a qwen35moe / qwen3next GGUF against what llama.cpp's loaders demand of it, read with
the gguf package (gguf-py), independently of gdn's reader and writer.

The rules are restated from llama.cpp (the llama-cpp-python 0.3.36 sdist's vendored tree):
- src/llama-model.cpp load_hparams: block_count, context_length, embedding_length required;
  expert_count, expert_used_count optional (0 < used <= count for an MoE model);
- src/models/qwen35moe.cpp / qwen3next.cpp load_arch_hparams: rms eps, ssm.* required;
  expert_feed_forward_length, expert_shared_feed_forward_length optional (then n_ff / n_expert_used
  and n_ff); qwen35moe requires rope.dimension_sections (4 values), qwen3next does not read it;
- their load_arch_tensors: the tensors of every trunk block (load_block_trunk) and MTP block
  (load_block_mtp) with the exact ne create_tensor demands (trailing 1s do not count, as in
  llama_model_loader::check_tensor_dims), nothing left over (llama.cpp fails on "wrong number of
  tensors" when a file holds tensors it did not create);
- conversion/base.py: 1-D tensors, norms, ffn_gate_inp, ffn_gate_inp_shexp and ssm_conv1d are f32
  in converter output, and llama-quantize keeps them so (src/llama-quant.cpp).

usage: check_moe_gguf.py FILE.gguf [--expect-type NAME=TYPE ...]
Prints one summary line; exits 1 with the list of problems otherwise.
"""
import sys

import gguf
import numpy as np


def main() -> int:
    path = sys.argv[1]
    r = gguf.GGUFReader(path)
    problems: list[str] = []

    def field(key: str, required: bool = True):
        f = r.fields.get(key)
        if f is None:
            if required:
                problems.append(f"key {key} missing")
            return None
        if len(f.types) == 1 and f.types[0] == gguf.GGUFValueType.STRING:
            return bytes(f.parts[f.data[0]]).decode()
        vals = [f.parts[i].tolist()[0] if len(f.parts[i]) == 1 else f.parts[i].tolist() for i in f.data]
        return vals[0] if len(vals) == 1 and f.types[0] != gguf.GGUFValueType.ARRAY else vals

    arch = field("general.architecture")
    if arch not in ("qwen35moe", "qwen3next"):
        print(f"check_moe_gguf: {path}: architecture {arch!r} is not qwen35moe / qwen3next")
        return 1
    p = arch + "."
    n_layer_all = field(p + "block_count")
    field(p + "context_length")
    n_embd = field(p + "embedding_length")
    n_nextn = field(p + "nextn_predict_layers", False) or 0
    n_expert = field(p + "expert_count", False) or 0
    n_used = field(p + "expert_used_count", False) or 0
    n_ff = field(p + "feed_forward_length", False) or 0
    n_ff_exp = field(p + "expert_feed_forward_length", False) or 0
    n_ff_shexp = field(p + "expert_shared_feed_forward_length", False) or 0
    field(p + "attention.layer_norm_rms_epsilon")
    n_head = field(p + "attention.head_count")
    n_head_kv = field(p + "attention.head_count_kv")
    head_k = field(p + "attention.key_length")
    head_v = field(p + "attention.value_length")
    d_conv = field(p + "ssm.conv_kernel")
    d_inner = field(p + "ssm.inner_size")
    d_state = field(p + "ssm.state_size")
    dt_rank = field(p + "ssm.time_step_rank")
    n_group = field(p + "ssm.group_count")
    interval = field(p + "full_attention_interval", False) or 4
    sections = field(p + "rope.dimension_sections", arch == "qwen35moe")
    if arch == "qwen35moe" and sections is not None and len(sections) != 4:
        problems.append(f"rope.dimension_sections has {len(sections)} values, llama.cpp reads 4")
    if n_expert == 0:
        problems.append("expert_count is 0 ('model cannot have zero experts')")
    if not (0 < n_used <= n_expert):
        problems.append(f"expert_used_count {n_used} not in (0, {n_expert}]")
    if problems:
        print("\n".join(f"check_moe_gguf: {path}: {x}" for x in problems))
        return 1
    n_layer = n_layer_all - n_nextn
    if n_ff_exp == 0:
        n_ff_exp = n_ff // n_used
    if n_ff_shexp == 0:
        n_ff_shexp = n_ff
    n_vocab = None
    ts = {t.name: t for t in r.tensors}
    if "token_embd.weight" in ts:
        n_vocab = int(ts["token_embd.weight"].shape[1])
    key_dim, value_dim = d_state * n_group, d_state * dt_rank  # head_v_dim = ssm_d_state in the loaders
    conv_dim = 2 * key_dim + value_dim
    if d_inner != value_dim:
        problems.append(f"ssm.inner_size {d_inner} != state_size * time_step_rank {value_dim}")

    want: dict[str, tuple] = {}  # name -> ne, "f32" marks the tensors that must be f32
    f32: set[str] = set()

    def t(name, ne, must_f32=False):
        want[name] = tuple(ne)
        if must_f32 or len(ne) == 1 or name.endswith("_norm.weight"):
            f32.add(name)

    t("token_embd.weight", (n_embd, n_vocab))
    t("output_norm.weight", (n_embd,))
    if "output.weight" in ts:
        t("output.weight", (n_embd, n_vocab))

    def moe(b):
        t(b + "ffn_gate_inp.weight", (n_embd, n_expert), True)
        t(b + "ffn_down_exps.weight", (n_ff_exp, n_embd, n_expert))
        if b + "ffn_gate_up_exps.weight" in ts:
            t(b + "ffn_gate_up_exps.weight", (n_embd, 2 * n_ff_exp, n_expert))
        else:
            t(b + "ffn_gate_exps.weight", (n_embd, n_ff_exp, n_expert))
            t(b + "ffn_up_exps.weight", (n_embd, n_ff_exp, n_expert))
        t(b + "ffn_gate_inp_shexp.weight", (n_embd,), True)
        t(b + "ffn_gate_shexp.weight", (n_embd, n_ff_shexp))
        t(b + "ffn_up_shexp.weight", (n_embd, n_ff_shexp))
        t(b + "ffn_down_shexp.weight", (n_ff_shexp, n_embd))

    def attention(b):
        if b + "attn_qkv.weight" in ts:  # create_tensor_qkv: fused or separate
            t(b + "attn_qkv.weight", (n_embd, head_k * n_head * 2 + 2 * head_k * n_head_kv))
        else:
            t(b + "attn_q.weight", (n_embd, head_k * n_head * 2))
            t(b + "attn_k.weight", (n_embd, head_k * n_head_kv))
            t(b + "attn_v.weight", (n_embd, head_v * n_head_kv))
        t(b + "attn_output.weight", (head_k * n_head, n_embd))
        t(b + "attn_q_norm.weight", (head_k,))
        t(b + "attn_k_norm.weight", (head_k,))

    for il in range(n_layer_all):
        b = f"blk.{il}."
        t(b + "attn_norm.weight", (n_embd,))
        t(b + "post_attention_norm.weight", (n_embd,))
        recurrent = il < n_layer and (il + 1) % interval != 0
        if not recurrent:
            attention(b)
        else:
            if arch == "qwen3next" and b + "ssm_in.weight" in ts:  # legacy packing
                t(b + "ssm_in.weight", (n_embd, 2 * key_dim + 2 * value_dim))
            # marked "not required" in both loaders, but their graphs need them in converter files
            t(b + "attn_qkv.weight", (n_embd, conv_dim))
            t(b + "attn_gate.weight", (n_embd, value_dim))
            t(b + "ssm_conv1d.weight", (d_conv, conv_dim), True)
            t(b + "ssm_dt.bias", (dt_rank,))
            t(b + "ssm_a", (dt_rank,))
            if arch == "qwen3next":
                t(b + "ssm_ba.weight", (n_embd, 2 * dt_rank))
            else:
                t(b + "ssm_beta.weight", (n_embd, dt_rank))
                t(b + "ssm_alpha.weight", (n_embd, dt_rank))
            t(b + "ssm_norm.weight", (d_state,))
            t(b + "ssm_out.weight", (value_dim, n_embd))
        moe(b)
        if il >= n_layer:  # MTP block: the NextN tensors
            t(b + "nextn.eh_proj.weight", (2 * n_embd, n_embd))
            t(b + "nextn.enorm.weight", (n_embd,))
            t(b + "nextn.hnorm.weight", (n_embd,))
            for opt, ne in (("embed_tokens", (n_embd, n_vocab)), ("shared_head_head", (n_embd, n_vocab)),
                            ("shared_head_norm", (n_embd,))):
                if b + f"nextn.{opt}.weight" in ts:
                    t(b + f"nextn.{opt}.weight", ne)

    expect_types = dict(a.split("=", 1) for a in sys.argv[2:] if "=" in a)
    for name, ne in want.items():
        if name not in ts:
            problems.append(f"{name} missing (llama.cpp requires it)")
            continue
        got = [int(x) for x in ts[name].shape]
        while len(got) > 1 and got[-1] == 1:
            got.pop()
        if tuple(got) != ne:
            problems.append(f"{name}: ne {got}, llama.cpp wants {list(ne)}")
        ty = ts[name].tensor_type.name.lower()
        if name in f32 and ty != "f32":
            problems.append(f"{name}: {ty}, converter and llama-quantize keep it f32")
    for name in ts:
        if name not in want:
            problems.append(f"{name}: llama.cpp does not load it ('wrong number of tensors')")
    for name, ty in expect_types.items():
        if name in ts and ts[name].tensor_type.name.lower() != ty:
            problems.append(f"{name}: {ts[name].tensor_type.name.lower()}, expected {ty}")
    if problems:
        print("\n".join(f"check_moe_gguf: {path}: {x}" for x in problems))
        return 1
    n_exp_tensors = sum(1 for n in ts if n.endswith("_exps.weight"))
    print(f"check_moe_gguf: {path}: {arch}, {n_layer} layers + {n_nextn} MTP, {n_expert} experts (top-{n_used}, "
          f"ff_exp {n_ff_exp}, ff_shexp {n_ff_shexp}), n_vocab {n_vocab}, {len(ts)} tensors ({n_exp_tensors} 3-D "
          f"expert tensors): names, shapes and f32 tensors as llama.cpp's {arch} loader wants")
    return 0


if __name__ == "__main__":
    sys.exit(main())
