"""Float64 NumPy decode of a Qwen3.5 text model, one token at a time (see docs/MODEL.md).

It is the fixtures' second opinion: make_fixtures.py runs it on the GGUF it just wrote
(tiled V heads, "+1" norms, ssm_a = -exp(A_log)) and on the Hugging Face parameters
(grouped V heads, zero-centred norms) and compares both with transformers' logits, so a
wrong conversion shows up before any C++ code reads the file. Needs only numpy (and the
PyPI `gguf` package for load_gguf).

Canonical weights (`Weights`) follow the GGUF conventions in NumPy orientation: a matrix
is [out, in] (row r = output r), norms are plain multipliers, conv is [conv_dim, kernel].
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Config:
    n_vocab: int
    n_embd: int
    n_layer: int
    n_ff: int
    full_attention_interval: int
    ssm_n_k_heads: int
    ssm_n_v_heads: int
    ssm_d_k: int
    ssm_d_v: int
    ssm_conv_kernel: int
    n_head: int
    n_head_kv: int
    head_dim: int
    n_rot: int
    rope_theta: float
    rms_eps: float
    tied: bool
    v_head_order: str = "tiled"  # "tiled": kh = h % Hk (GGUF); "grouped": kh = h // r (HF)

    def is_attention(self, il: int) -> bool:
        return (il + 1) % self.full_attention_interval == 0

    @property
    def conv_dim(self) -> int:
        return 2 * self.ssm_n_k_heads * self.ssm_d_k + self.ssm_n_v_heads * self.ssm_d_v

    def key_heads(self) -> np.ndarray:
        h = np.arange(self.ssm_n_v_heads)
        if self.v_head_order == "tiled":
            return h % self.ssm_n_k_heads
        return h // (self.ssm_n_v_heads // self.ssm_n_k_heads)


@dataclass
class Weights:
    config: Config
    tok_embd: np.ndarray  # [V, E]
    output_norm: np.ndarray  # [E]
    output: np.ndarray  # [V, E]
    layers: list[dict[str, np.ndarray]] = field(default_factory=list)


def grouped_to_tiled(x: np.ndarray, axis: int, n_k: int, ratio: int, head: int) -> np.ndarray:
    """Reorder value heads along `axis` (length n_k*ratio*head) from HF's grouped order
    (head kh*ratio + j) to llama.cpp's tiled order (head j*n_k + kh)."""
    y = np.moveaxis(x, axis, 0)
    rest = y.shape[1:]
    y = y.reshape(n_k, ratio, head, *rest).swapaxes(0, 1).reshape(n_k * ratio * head, *rest)
    return np.ascontiguousarray(np.moveaxis(y, 0, axis))


def tiled_to_grouped(x: np.ndarray, axis: int, n_k: int, ratio: int, head: int) -> np.ndarray:
    y = np.moveaxis(x, axis, 0)
    rest = y.shape[1:]
    y = y.reshape(ratio, n_k, head, *rest).swapaxes(0, 1).reshape(n_k * ratio * head, *rest)
    return np.ascontiguousarray(np.moveaxis(y, 0, axis))


def _rms(x: np.ndarray, eps: float) -> np.ndarray:
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)


def _silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def cast(w: Weights, dtype) -> Weights:
    """The same weights stored as `dtype` (decode then computes in it: np.float32 shows
    how far plain float32 arithmetic lands from the float64 logits)."""
    f = lambda a: np.asarray(a, dtype=dtype)  # noqa: E731
    return Weights(w.config, f(w.tok_embd), f(w.output_norm), f(w.output),
                   [{k: f(v) for k, v in L.items()} for L in w.layers])


def decode(w: Weights, tokens: np.ndarray, a_in_float32: bool = False) -> np.ndarray:
    """Logits [n_tokens, n_vocab] (float64) of feeding `tokens` one at a time.
    a_in_float32 rounds the decay-gate input a to float32 first, as transformers does
    (`F.softplus(a.float() + dt_bias)`), to tell that rounding apart from real differences."""
    c = w.config
    hk, hv, dk, dv = c.ssm_n_k_heads, c.ssm_n_v_heads, c.ssm_d_k, c.ssm_d_v
    kh_of = c.key_heads()
    n_rep = c.n_head // c.n_head_kv
    half = c.n_rot // 2
    dt = w.tok_embd.dtype
    inv_freq = c.rope_theta ** (-np.arange(half, dtype=np.float64) * 2.0 / c.n_rot)

    conv_state = {}
    ssm_state = {}
    k_cache: dict[int, list[np.ndarray]] = {}
    v_cache: dict[int, list[np.ndarray]] = {}
    for il in range(c.n_layer):
        if c.is_attention(il):
            k_cache[il], v_cache[il] = [], []
        else:
            conv_state[il] = np.zeros((c.conv_dim, c.ssm_conv_kernel - 1), dtype=dt)
            ssm_state[il] = np.zeros((hv, dk, dv), dtype=dt)  # [Hv, dk, dv]

    out = np.empty((len(tokens), c.n_vocab))
    for pos, tok in enumerate(tokens):
        x = w.tok_embd[int(tok)].copy()
        for il, L in enumerate(w.layers):
            h = _rms(x, c.rms_eps) * L["attn_norm"]
            if c.is_attention(il):
                qg = (L["q"] @ h).reshape(c.n_head, 2 * c.head_dim)
                q, gate = qg[:, : c.head_dim], qg[:, c.head_dim:]
                k = (L["k"] @ h).reshape(c.n_head_kv, c.head_dim)
                v = (L["v"] @ h).reshape(c.n_head_kv, c.head_dim)
                q = _rms(q, c.rms_eps) * L["q_norm"]
                k = _rms(k, c.rms_eps) * L["k_norm"]
                ang = pos * inv_freq
                cos, sin = np.cos(ang).astype(dt), np.sin(ang).astype(dt)
                for t in (q, k):
                    a, b = t[:, :half].copy(), t[:, half : c.n_rot].copy()
                    t[:, :half] = a * cos - b * sin
                    t[:, half : c.n_rot] = b * cos + a * sin
                k_cache[il].append(k)
                v_cache[il].append(v)
                K = np.stack(k_cache[il], axis=1)  # [Hkv, T, hd]
                V = np.stack(v_cache[il], axis=1)
                o = np.empty((c.n_head, c.head_dim), dtype=dt)
                for hh in range(c.n_head):
                    s = K[hh // n_rep] @ q[hh] / np.sqrt(c.head_dim)
                    p = np.exp(s - s.max())
                    p /= p.sum()
                    o[hh] = p @ V[hh // n_rep]
                y = o.reshape(-1) * (1.0 / (1.0 + np.exp(-gate.reshape(-1))))
                x = x + L["o"] @ y
            else:
                qkv = L["qkv"] @ h
                z = (L["z"] @ h).reshape(hv, dv)
                beta = 1.0 / (1.0 + np.exp(-(L["beta"] @ h)))
                a = L["alpha"] @ h
                if a_in_float32:
                    a = a.astype(np.float32).astype(dt)
                g = L["ssm_a"] * _softplus(a + L["dt_bias"])
                win = np.concatenate([conv_state[il], qkv[:, None]], axis=1)  # [conv_dim, K]
                conv_state[il] = win[:, 1:]
                u = _silu(np.sum(win * L["conv"], axis=1))
                q = u[: hk * dk].reshape(hk, dk)
                k = u[hk * dk : 2 * hk * dk].reshape(hk, dk)
                v = u[2 * hk * dk :].reshape(hv, dv)
                q = q / np.sqrt(np.sum(q * q, axis=1, keepdims=True) + 1e-6) / np.sqrt(dk)
                k = k / np.sqrt(np.sum(k * k, axis=1, keepdims=True) + 1e-6)
                S = ssm_state[il]
                S *= np.exp(g)[:, None, None]
                kk, qq = k[kh_of], q[kh_of]  # [Hv, dk]
                m = np.einsum("hkv,hk->hv", S, kk)
                d = beta[:, None] * (v - m)
                S += kk[:, :, None] * d[:, None, :]
                o = np.einsum("hkv,hk->hv", S, qq)
                y = L["ssm_norm"] * _rms(o, c.rms_eps) * _silu(z)
                x = x + L["out"] @ y.reshape(-1)
            hn = _rms(x, c.rms_eps) * L["post_norm"]
            x = x + L["down"] @ (_silu(L["gate"] @ hn) * (L["up"] @ hn))
        out[pos] = w.output @ (_rms(x, c.rms_eps) * w.output_norm)
    return out


def from_hf(c: Config, p: dict[str, np.ndarray]) -> Weights:
    """Canonical weights straight from Hugging Face parameter names (grouped V heads)."""
    assert c.v_head_order == "grouped"
    f = lambda a: np.asarray(a, dtype=np.float64)  # noqa: E731
    emb = f(p["model.embed_tokens.weight"])
    w = Weights(c, emb, 1.0 + f(p["model.norm.weight"]),
                emb if c.tied else f(p["lm_head.weight"]))
    for il in range(c.n_layer):
        pre = f"model.layers.{il}."
        L = {"attn_norm": 1.0 + f(p[pre + "input_layernorm.weight"]),
             "post_norm": 1.0 + f(p[pre + "post_attention_layernorm.weight"]),
             "gate": f(p[pre + "mlp.gate_proj.weight"]), "up": f(p[pre + "mlp.up_proj.weight"]),
             "down": f(p[pre + "mlp.down_proj.weight"])}
        if c.is_attention(il):
            a = pre + "self_attn."
            L.update(q=f(p[a + "q_proj.weight"]), k=f(p[a + "k_proj.weight"]),
                     v=f(p[a + "v_proj.weight"]), o=f(p[a + "o_proj.weight"]),
                     q_norm=1.0 + f(p[a + "q_norm.weight"]), k_norm=1.0 + f(p[a + "k_norm.weight"]))
        else:
            a = pre + "linear_attn."
            L.update(qkv=f(p[a + "in_proj_qkv.weight"]), z=f(p[a + "in_proj_z.weight"]),
                     beta=f(p[a + "in_proj_b.weight"]), alpha=f(p[a + "in_proj_a.weight"]),
                     conv=f(p[a + "conv1d.weight"]).reshape(c.conv_dim, c.ssm_conv_kernel),
                     dt_bias=f(p[a + "dt_bias"]),
                     # rounded as the converter stores it, so only layout differences remain
                     ssm_a=f(np.float32(-np.exp(f(p[a + "A_log"])))),
                     ssm_norm=f(p[a + "norm.weight"]), out=f(p[a + "out_proj.weight"]))
        w.layers.append(L)
    return w


def load_gguf(path: str) -> Weights:
    """Canonical weights of a qwen35 GGUF (F32/F16/BF16 tensors only), tiled V heads."""
    import gguf  # PyPI package

    r = gguf.GGUFReader(path)

    def kv(key: str):
        f = r.fields[key]
        return f.contents()

    arch = kv("general.architecture")
    assert arch == "qwen35", arch
    t = {x.name: x for x in r.tensors}

    def ten(name: str) -> np.ndarray:
        x = t[name]
        if x.tensor_type == gguf.GGMLQuantizationType.BF16:
            raw = np.asarray(x.data).view(np.uint16).astype(np.uint32) << 16
            return raw.view(np.float32).astype(np.float64).reshape(x.data.shape)
        assert x.tensor_type in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16), name
        return np.asarray(x.data, dtype=np.float64)

    head_dim = int(kv("qwen35.attention.key_length"))
    c = Config(n_vocab=int(t["token_embd.weight"].shape[1]), n_embd=int(kv("qwen35.embedding_length")),
               n_layer=int(kv("qwen35.block_count")), n_ff=int(kv("qwen35.feed_forward_length")),
               full_attention_interval=int(kv("qwen35.full_attention_interval")),
               ssm_n_k_heads=int(kv("qwen35.ssm.group_count")),
               ssm_n_v_heads=int(kv("qwen35.ssm.time_step_rank")),
               ssm_d_k=int(kv("qwen35.ssm.state_size")),
               ssm_d_v=int(kv("qwen35.ssm.inner_size")) // int(kv("qwen35.ssm.time_step_rank")),
               ssm_conv_kernel=int(kv("qwen35.ssm.conv_kernel")),
               n_head=int(kv("qwen35.attention.head_count")),
               n_head_kv=int(kv("qwen35.attention.head_count_kv")), head_dim=head_dim,
               n_rot=int(kv("qwen35.rope.dimension_count")),
               rope_theta=float(kv("qwen35.rope.freq_base")),
               rms_eps=float(kv("qwen35.attention.layer_norm_rms_epsilon")),
               tied="output.weight" not in t, v_head_order="tiled")
    emb = ten("token_embd.weight")
    w = Weights(c, emb, ten("output_norm.weight"), emb if c.tied else ten("output.weight"))
    for il in range(c.n_layer):
        b = f"blk.{il}."
        L = {"attn_norm": ten(b + "attn_norm.weight"), "post_norm": ten(b + "post_attention_norm.weight"),
             "gate": ten(b + "ffn_gate.weight"), "up": ten(b + "ffn_up.weight"),
             "down": ten(b + "ffn_down.weight")}
        if c.is_attention(il):
            L.update(q=ten(b + "attn_q.weight"), k=ten(b + "attn_k.weight"), v=ten(b + "attn_v.weight"),
                     o=ten(b + "attn_output.weight"), q_norm=ten(b + "attn_q_norm.weight"),
                     k_norm=ten(b + "attn_k_norm.weight"))
        else:
            L.update(qkv=ten(b + "attn_qkv.weight"), z=ten(b + "attn_gate.weight"),
                     beta=ten(b + "ssm_beta.weight"), alpha=ten(b + "ssm_alpha.weight"),
                     conv=ten(b + "ssm_conv1d.weight"), dt_bias=ten(b + "ssm_dt.bias"),
                     ssm_a=ten(b + "ssm_a"), ssm_norm=ten(b + "ssm_norm.weight"),
                     out=ten(b + "ssm_out.weight"))
        w.layers.append(L)
    return w


def rel_l2_rows(a: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Per-row ||a - ref|| / ||ref||."""
    return np.linalg.norm(a - ref, axis=1) / np.linalg.norm(ref, axis=1)
