"""Float64 NumPy decode of a Qwen3.5-family text model (Qwen3.5 dense, Qwen3.5-MoE, Qwen3-Next),
one token at a time (see docs/MODEL.md).

It is the fixtures' second opinion: make_fixtures.py runs it on the GGUF it just wrote
(tiled V heads, "+1" norms, ssm_a = -exp(A_log)) and on the Hugging Face parameters
(grouped V heads, zero-centred norms) and compares both with transformers' logits, so a
wrong conversion shows up before any C++ code reads the file. Needs only numpy (and the
PyPI `gguf` package for load_gguf).

Canonical weights (`Weights`) follow the GGUF conventions in NumPy orientation: a matrix
is [out, in] (row r = output r), norms are plain multipliers, conv is [conv_dim, kernel].
An MoE layer holds router [n_expert, E], gate_exps / up_exps [n_expert, F, E],
down_exps [n_expert, E, F], and the shared expert sh_gate / sh_up [S, E], sh_down [E, S],
sh_inp [E] (the logit of its sigmoid gate).
"""
from __future__ import annotations

import copy
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
    n_expert: int = 0  # > 0: every layer's MLP is mixture-of-experts
    n_expert_used: int = 0
    n_ff_exp: int = 0
    n_ff_shexp: int = 0

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


def moe(L: dict, h: np.ndarray, k: int) -> tuple[np.ndarray, float, float]:
    """The MoE MLP of one token: softmax router, top-k (ties: lower expert id), weights
    renormalised over the chosen, plus the sigmoid-gated shared expert. Also returns the gap
    between the k-th and (k+1)-th router logit and probability (how safe the choice is)."""
    logits = L["router"] @ h
    p = np.exp(logits - logits.max())
    p /= p.sum()
    order = np.argsort(-p, kind="stable")  # stable: equal p keep the lower id first
    sel = order[:k]
    wts = p[sel] / p[sel].sum()
    out = np.zeros_like(h)
    for e, we in zip(sel, wts):
        out += we * (L["down_exps"][e] @ (_silu(L["gate_exps"][e] @ h) * (L["up_exps"][e] @ h)))
    sh = L["sh_down"] @ (_silu(L["sh_gate"] @ h) * (L["sh_up"] @ h))
    out += sh / (1.0 + np.exp(-(L["sh_inp"] @ h)))
    if k < len(p):
        gap_logit = float(logits[order[k - 1]] - logits[order[k]])
        gap_p = float(p[order[k - 1]] - p[order[k]])
    else:
        gap_logit = gap_p = float("inf")
    return out, gap_logit, gap_p


class Stepper:
    """Decodes one token per step() and keeps every state; snapshot() / restore() let a caller
    try a token and take it back (make_fixtures.py does, to keep every routing decision clear)."""

    def __init__(self, w: Weights, a_in_float32: bool = False):
        c = w.config
        self.w, self.a_in_float32, self.pos = w, a_in_float32, 0
        self.dt = w.tok_embd.dtype
        half = c.n_rot // 2
        self.inv_freq = c.rope_theta ** (-np.arange(half, dtype=np.float64) * 2.0 / c.n_rot)
        self.state: dict = {"conv": {}, "ssm": {}, "k": {}, "v": {}}
        for il in range(c.n_layer):
            if c.is_attention(il):
                self.state["k"][il], self.state["v"][il] = [], []
            else:
                self.state["conv"][il] = np.zeros((c.conv_dim, c.ssm_conv_kernel - 1), dtype=self.dt)
                self.state["ssm"][il] = np.zeros((c.ssm_n_v_heads, c.ssm_d_k, c.ssm_d_v), dtype=self.dt)
        #: per step, the smallest top-k router gap over the MoE layers (logit and probability)
        self.min_gap_logit = self.min_gap_p = float("inf")

    def snapshot(self):
        return self.pos, copy.deepcopy(self.state)

    def restore(self, snap) -> None:
        self.pos, self.state = snap[0], copy.deepcopy(snap[1])

    def step(self, tok: int) -> np.ndarray:
        w, c, dt, pos, st = self.w, self.w.config, self.dt, self.pos, self.state
        hk, hv, dk, dv = c.ssm_n_k_heads, c.ssm_n_v_heads, c.ssm_d_k, c.ssm_d_v
        kh_of = c.key_heads()
        n_rep = c.n_head // c.n_head_kv
        half = c.n_rot // 2
        self.min_gap_logit = self.min_gap_p = float("inf")
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
                ang = pos * self.inv_freq
                cos, sin = np.cos(ang).astype(dt), np.sin(ang).astype(dt)
                for t in (q, k):
                    a, b = t[:, :half].copy(), t[:, half : c.n_rot].copy()
                    t[:, :half] = a * cos - b * sin
                    t[:, half : c.n_rot] = b * cos + a * sin
                st["k"][il].append(k)
                st["v"][il].append(v)
                K = np.stack(st["k"][il], axis=1)  # [Hkv, T, hd]
                V = np.stack(st["v"][il], axis=1)
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
                if self.a_in_float32:
                    a = a.astype(np.float32).astype(dt)
                g = L["ssm_a"] * _softplus(a + L["dt_bias"])
                win = np.concatenate([st["conv"][il], qkv[:, None]], axis=1)  # [conv_dim, K]
                st["conv"][il] = win[:, 1:]
                u = _silu(np.sum(win * L["conv"], axis=1))
                q = u[: hk * dk].reshape(hk, dk)
                k = u[hk * dk : 2 * hk * dk].reshape(hk, dk)
                v = u[2 * hk * dk :].reshape(hv, dv)
                q = q / np.sqrt(np.sum(q * q, axis=1, keepdims=True) + 1e-6) / np.sqrt(dk)
                k = k / np.sqrt(np.sum(k * k, axis=1, keepdims=True) + 1e-6)
                S = st["ssm"][il]
                S *= np.exp(g)[:, None, None]
                kk, qq = k[kh_of], q[kh_of]  # [Hv, dk]
                m = np.einsum("hkv,hk->hv", S, kk)
                d = beta[:, None] * (v - m)
                S += kk[:, :, None] * d[:, None, :]
                o = np.einsum("hkv,hk->hv", S, qq)
                y = L["ssm_norm"] * _rms(o, c.rms_eps) * _silu(z)
                x = x + L["out"] @ y.reshape(-1)
            hn = _rms(x, c.rms_eps) * L["post_norm"]
            if c.n_expert:
                out, gl, gp = moe(L, hn, c.n_expert_used)
                self.min_gap_logit, self.min_gap_p = min(self.min_gap_logit, gl), min(self.min_gap_p, gp)
                x = x + out
            else:
                x = x + L["down"] @ (_silu(L["gate"] @ hn) * (L["up"] @ hn))
        self.pos += 1
        return w.output @ (_rms(x, c.rms_eps) * w.output_norm)


def decode(w: Weights, tokens: np.ndarray, a_in_float32: bool = False, gaps: list | None = None) -> np.ndarray:
    """Logits [n_tokens, n_vocab] (float64) of feeding `tokens` one at a time.
    a_in_float32 rounds the decay-gate input a to float32 first, as transformers does
    (`F.softplus(a.float() + dt_bias)`), to tell that rounding apart from real differences.
    `gaps`, if given, receives each position's smallest (logit, probability) top-k router gap."""
    st = Stepper(w, a_in_float32)
    out = np.empty((len(tokens), w.config.n_vocab))
    for pos, tok in enumerate(tokens):
        out[pos] = st.step(int(tok))
        if gaps is not None:
            gaps.append((st.min_gap_logit, st.min_gap_p))
    return out


def unpack_qkvz(x: np.ndarray, c: Config) -> tuple[np.ndarray, np.ndarray]:
    """Qwen3-Next's in_proj_qkvz rows (per key head [q dk | k dk | v r*dv | z r*dv]) as the flat
    [q | k | v] and z rows, value heads grouped (head kh*r + j)."""
    hk, dk, dv, r = c.ssm_n_k_heads, c.ssm_d_k, c.ssm_d_v, c.ssm_n_v_heads // c.ssm_n_k_heads
    y = x.reshape(hk, 2 * dk + 2 * r * dv, *x.shape[1:])
    q, k = y[:, :dk], y[:, dk : 2 * dk]
    v, z = y[:, 2 * dk : 2 * dk + r * dv], y[:, 2 * dk + r * dv :]
    flat = lambda t: t.reshape(-1, *x.shape[1:])  # noqa: E731
    return np.concatenate([flat(q), flat(k), flat(v)], axis=0), flat(z)


def unpack_ba(x: np.ndarray, c: Config) -> tuple[np.ndarray, np.ndarray]:
    """Qwen3-Next's in_proj_ba rows (per key head [b r | a r]) as beta and alpha rows, grouped."""
    hk, r = c.ssm_n_k_heads, c.ssm_n_v_heads // c.ssm_n_k_heads
    y = x.reshape(hk, 2 * r, *x.shape[1:])
    return y[:, :r].reshape(-1, *x.shape[1:]), y[:, r:].reshape(-1, *x.shape[1:])


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
             "post_norm": 1.0 + f(p[pre + "post_attention_layernorm.weight"])}
        if c.n_expert:
            gu = f(p[pre + "mlp.experts.gate_up_proj"])  # [n_expert, 2F, E]: gate rows, then up
            L.update(router=f(p[pre + "mlp.gate.weight"]), gate_exps=gu[:, : c.n_ff_exp],
                     up_exps=gu[:, c.n_ff_exp:], down_exps=f(p[pre + "mlp.experts.down_proj"]),
                     sh_gate=f(p[pre + "mlp.shared_expert.gate_proj.weight"]),
                     sh_up=f(p[pre + "mlp.shared_expert.up_proj.weight"]),
                     sh_down=f(p[pre + "mlp.shared_expert.down_proj.weight"]),
                     sh_inp=f(p[pre + "mlp.shared_expert_gate.weight"]).reshape(-1))
        else:
            L.update(gate=f(p[pre + "mlp.gate_proj.weight"]), up=f(p[pre + "mlp.up_proj.weight"]),
                     down=f(p[pre + "mlp.down_proj.weight"]))
        if c.is_attention(il):
            a = pre + "self_attn."
            L.update(q=f(p[a + "q_proj.weight"]), k=f(p[a + "k_proj.weight"]),
                     v=f(p[a + "v_proj.weight"]), o=f(p[a + "o_proj.weight"]),
                     q_norm=1.0 + f(p[a + "q_norm.weight"]), k_norm=1.0 + f(p[a + "k_norm.weight"]))
        else:
            a = pre + "linear_attn."
            if a + "in_proj_qkvz.weight" in p:  # Qwen3-Next packs the projections per key head
                qkv, z = unpack_qkvz(f(p[a + "in_proj_qkvz.weight"]), c)
                beta, alpha = unpack_ba(f(p[a + "in_proj_ba.weight"]), c)
            else:
                qkv, z = f(p[a + "in_proj_qkv.weight"]), f(p[a + "in_proj_z.weight"])
                beta, alpha = f(p[a + "in_proj_b.weight"]), f(p[a + "in_proj_a.weight"])
            L.update(qkv=qkv, z=z, beta=beta, alpha=alpha,
                     conv=f(p[a + "conv1d.weight"]).reshape(c.conv_dim, c.ssm_conv_kernel),
                     dt_bias=f(p[a + "dt_bias"]),
                     # rounded as the converter stores it, so only layout differences remain
                     ssm_a=f(np.float32(-np.exp(f(p[a + "A_log"])))),
                     ssm_norm=f(p[a + "norm.weight"]), out=f(p[a + "out_proj.weight"]))
        w.layers.append(L)
    return w


def load_gguf(path: str) -> Weights:
    """Canonical weights of a qwen35 / qwen35moe / qwen3next GGUF (F32/F16/BF16 tensors only);
    value heads tiled (qwen35, qwen35moe) or grouped (qwen3next), as the file has them."""
    import gguf  # PyPI package

    r = gguf.GGUFReader(path)

    def kv(key: str, default=None):
        f = r.fields.get(key)
        return default if f is None else f.contents()

    arch = kv("general.architecture")
    assert arch in ("qwen35", "qwen35moe", "qwen3next"), arch
    P = arch + "."
    t = {x.name: x for x in r.tensors}

    def ten(name: str) -> np.ndarray:
        x = t[name]
        if x.tensor_type == gguf.GGMLQuantizationType.BF16:
            raw = np.asarray(x.data).view(np.uint16).astype(np.uint32) << 16
            return raw.view(np.float32).astype(np.float64).reshape(x.data.shape)
        assert x.tensor_type in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16), name
        return np.asarray(x.data, dtype=np.float64)

    head_dim = int(kv(P + "attention.key_length"))
    moe = arch != "qwen35"
    n_ff = int(kv(P + "feed_forward_length", 0))
    n_used = int(kv(P + "expert_used_count", 0))
    ff_exp = int(kv(P + "expert_feed_forward_length", 0)) or (n_ff // n_used if moe else 0)
    ff_sh = int(kv(P + "expert_shared_feed_forward_length", 0)) or n_ff
    c = Config(n_vocab=int(t["token_embd.weight"].shape[1]), n_embd=int(kv(P + "embedding_length")),
               n_layer=int(kv(P + "block_count")) - int(kv(P + "nextn_predict_layers", 0)), n_ff=n_ff,
               full_attention_interval=int(kv(P + "full_attention_interval", 4)),
               ssm_n_k_heads=int(kv(P + "ssm.group_count")),
               ssm_n_v_heads=int(kv(P + "ssm.time_step_rank")),
               ssm_d_k=int(kv(P + "ssm.state_size")),
               ssm_d_v=int(kv(P + "ssm.inner_size")) // int(kv(P + "ssm.time_step_rank")),
               ssm_conv_kernel=int(kv(P + "ssm.conv_kernel")),
               n_head=int(kv(P + "attention.head_count")),
               n_head_kv=int(kv(P + "attention.head_count_kv")), head_dim=head_dim,
               n_rot=int(kv(P + "rope.dimension_count")),
               rope_theta=float(kv(P + "rope.freq_base")),
               rms_eps=float(kv(P + "attention.layer_norm_rms_epsilon")),
               tied="output.weight" not in t, v_head_order="grouped" if arch == "qwen3next" else "tiled",
               n_expert=int(kv(P + "expert_count", 0)) if moe else 0, n_expert_used=n_used if moe else 0,
               n_ff_exp=ff_exp if moe else 0, n_ff_shexp=ff_sh if moe else 0)
    emb = ten("token_embd.weight")
    w = Weights(c, emb, ten("output_norm.weight"), emb if c.tied else ten("output.weight"))
    for il in range(c.n_layer):
        b = f"blk.{il}."
        L = {"attn_norm": ten(b + "attn_norm.weight"), "post_norm": ten(b + "post_attention_norm.weight")}
        if moe:
            if b + "ffn_gate_up_exps.weight" in t:
                gu = ten(b + "ffn_gate_up_exps.weight")  # [n_expert, 2F, E]
                gate, up = gu[:, : c.n_ff_exp], gu[:, c.n_ff_exp:]
            else:
                gate, up = ten(b + "ffn_gate_exps.weight"), ten(b + "ffn_up_exps.weight")
            L.update(router=ten(b + "ffn_gate_inp.weight"), gate_exps=gate, up_exps=up,
                     down_exps=ten(b + "ffn_down_exps.weight"), sh_gate=ten(b + "ffn_gate_shexp.weight"),
                     sh_up=ten(b + "ffn_up_shexp.weight"), sh_down=ten(b + "ffn_down_shexp.weight"),
                     sh_inp=ten(b + "ffn_gate_inp_shexp.weight").reshape(-1))
        else:
            L.update(gate=ten(b + "ffn_gate.weight"), up=ten(b + "ffn_up.weight"), down=ten(b + "ffn_down.weight"))
        if c.is_attention(il):
            L.update(q=ten(b + "attn_q.weight"), k=ten(b + "attn_k.weight"), v=ten(b + "attn_v.weight"),
                     o=ten(b + "attn_output.weight"), q_norm=ten(b + "attn_q_norm.weight"),
                     k_norm=ten(b + "attn_k_norm.weight"))
        else:
            if arch == "qwen3next":
                if b + "attn_qkv.weight" in t:
                    qkv, z = ten(b + "attn_qkv.weight"), ten(b + "attn_gate.weight")
                else:
                    qkv, z = unpack_qkvz(ten(b + "ssm_in.weight"), c)
                beta, alpha = unpack_ba(ten(b + "ssm_ba.weight"), c)
            else:
                qkv, z = ten(b + "attn_qkv.weight"), ten(b + "attn_gate.weight")
                beta, alpha = ten(b + "ssm_beta.weight"), ten(b + "ssm_alpha.weight")
            L.update(qkv=qkv, z=z, beta=beta, alpha=alpha,
                     conv=ten(b + "ssm_conv1d.weight"), dt_bias=ten(b + "ssm_dt.bias"),
                     ssm_a=ten(b + "ssm_a"), ssm_norm=ten(b + "ssm_norm.weight"),
                     out=ten(b + "ssm_out.weight"))
        w.layers.append(L)
    return w


def rel_l2_rows(a: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Per-row ||a - ref|| / ||ref||."""
    return np.linalg.norm(a - ref, axis=1) / np.linalg.norm(ref, axis=1)
