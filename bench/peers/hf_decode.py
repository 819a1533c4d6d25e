#!/usr/bin/env python3
"""HF transformers greedy decode speed of a random-weight Qwen3.5-0.8B (bf16, CUDA, batch 1).

The model is Qwen3_5ForCausalLM built from the public 0.8B configuration (../shared/MODEL.md:
hidden 1024, 24 layers with every 4th full attention, Hk/Hv 16/16, H/Hkv 8/2, MLP 3584,
vocab 248320, tied embeddings), randomly initialised on the GPU in bf16. It generates
`--tokens` new tokens greedily after a short prompt; the decode time is
time(prompt + N new tokens) - time(prompt + 1 new token), so prefill is not counted.
Tried with the default (dynamic) cache and with cache_implementation="static" (no
torch.compile: compiling would take minutes); a mode that fails is reported, not hidden.

With `--gdn-csv FILE` (written by `gdn_bench_decode --csv FILE`) the table gets gdn's tok/s
for 0.8B bf16 (kv f16, the smallest context measured) and the ratio gdn / HF.
Prints a markdown table with the card's name.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time


def build_model(torch):
    from transformers import Qwen3_5ForCausalLM, Qwen3_5TextConfig

    n_layer, interval, n_rot = 24, 4, 64
    half = n_rot // 2
    t = round(half * 11 / 32)
    layer_types = ["full_attention" if (i + 1) % interval == 0 else "linear_attention" for i in range(n_layer)]
    cfg = Qwen3_5TextConfig(
        vocab_size=248320, hidden_size=1024, intermediate_size=3584, num_hidden_layers=n_layer,
        num_attention_heads=8, num_key_value_heads=2, head_dim=256, linear_conv_kernel_dim=4,
        linear_key_head_dim=128, linear_value_head_dim=128, linear_num_key_heads=16,
        linear_num_value_heads=16, layer_types=layer_types, rms_norm_eps=1e-6, tie_word_embeddings=True,
        max_position_embeddings=4096,
        rope_parameters={"rope_type": "default", "rope_theta": 1e7, "partial_rotary_factor": 0.25,
                         "mrope_section": [t, t, half - 2 * t], "mrope_interleaved": True})
    torch.manual_seed(0)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device("cuda"):
            model = Qwen3_5ForCausalLM(cfg)
    finally:
        torch.set_default_dtype(old)
    return model.to(device="cuda", dtype=torch.bfloat16).eval()


def deltanet_path(model) -> str:
    """Which DeltaNet kernels transformers picked (fla/causal-conv1d fast path or torch)."""
    try:
        layer = next(l.linear_attn for l in model.model.layers if hasattr(l, "linear_attn"))
        parts = []
        for attr in ("causal_conv1d_fn", "chunk_gated_delta_rule", "recurrent_gated_delta_rule"):
            f = getattr(layer, attr, None)
            if f is not None:
                parts.append(f"{attr}={getattr(f, '__module__', '?').split('.')[0]}")
            elif hasattr(layer, attr):
                parts.append(f"{attr}=torch")
        return ", ".join(parts) or "?"
    except Exception as e:  # noqa: BLE001
        return f"? ({type(e).__name__})"


def timed_generate(torch, model, prompt, n_new: int, **kw) -> float:
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = model.generate(prompt, max_new_tokens=n_new, min_new_tokens=n_new, do_sample=False, **kw)
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    assert out.shape[1] == prompt.shape[1] + n_new, f"generated {out.shape[1] - prompt.shape[1]} of {n_new} tokens"
    return dt


def hide_fla() -> None:
    """Drop the sys.path entry that provides `fla`, so transformers takes its torch path."""
    import importlib.util

    spec = importlib.util.find_spec("fla")
    if spec and spec.submodule_search_locations:
        site = os.path.dirname(list(spec.submodule_search_locations)[0])
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.abspath(site)]


def gdn_row(path: str | None):
    if not path or not os.path.exists(path):
        return None
    best = None
    with open(path) as f:
        for r in csv.DictReader(f):
            if r["shape"] == "0.8B" and r["weights"] == "bf16" and r["kv"] == "f16" and float(r["tok_s"]) > 0:
                if best is None or int(r["ctx"]) < int(best["ctx"]):
                    best = r
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--prompt", type=int, default=8, help="prompt length (random ids)")
    ap.add_argument("--gdn-csv", help="gdn decode rows (gdn_bench_decode --csv)")
    ap.add_argument("--no-fla", action="store_true",
                    help="hide flash-linear-attention from transformers (torch DeltaNet path)")
    args = ap.parse_args()
    if args.no_fla:
        hide_fla()
    try:
        import torch
        import transformers
    except Exception as e:  # noqa: BLE001
        print(f"skipped: needs torch and transformers ({e})")
        return 0
    if not torch.cuda.is_available():
        print("skipped: no CUDA device")
        return 0
    card = torch.cuda.get_device_name()
    t0 = time.perf_counter()
    try:
        model = build_model(torch)
    except Exception as e:  # noqa: BLE001
        msg = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
        import importlib.util

        if not args.no_fla and importlib.util.find_spec("fla") is not None:
            # fla (carried for the DeltaNet peers) may not import beside this transformers:
            # measure HF on its torch path instead, and say so.
            print(f"(building with flash-linear-attention importable failed: {msg}; retrying without fla)",
                  flush=True)
            import subprocess
            return subprocess.call([sys.executable, __file__, "--no-fla", *sys.argv[1:]])
        print(f"skipped: cannot build Qwen3_5ForCausalLM with transformers {transformers.__version__}: {msg}")
        return 0
    build_s = time.perf_counter() - t0
    n_params = sum(p.numel() for p in model.parameters())
    path = deltanet_path(model)
    g = torch.Generator().manual_seed(1)
    prompt = torch.randint(0, 248320, (1, args.prompt), generator=g).to("cuda")
    gdn = gdn_row(args.gdn_csv)

    print(f"\nHF transformers {transformers.__version__} greedy decode, random-weight Qwen3.5-0.8B "
          f"({n_params / 1e9:.2f} B params, bf16, batch 1, prompt {args.prompt}, {args.tokens} new tokens) "
          f"on {card}; torch {torch.__version__}; model built in {build_s:.1f} s; DeltaNet path: {path}\n")
    print("| impl | cache | new_tokens | ms_per_token | tok_s | gdn_tok_s | gdn_over_hf | note |")
    print("|---|---|---|---|---|---|---|---|")
    gdn_tok_s = float(gdn["tok_s"]) if gdn else None
    gdn_note = f"gdn row: 0.8B bf16 kv f16 ctx {gdn['ctx']}" if gdn else "no gdn csv"
    for cache, kw in (("dynamic", {}), ("static", {"cache_implementation": "static"})):
        try:
            with torch.inference_mode():
                timed_generate(torch, model, prompt, 8, **kw)  # warm-up (kernels, autotune)
                t1 = timed_generate(torch, model, prompt, 1, **kw)
                tn = timed_generate(torch, model, prompt, args.tokens, **kw)
            ms = (tn - t1) * 1e3 / (args.tokens - 1)
            tok_s = 1e3 / ms
            ratio = f"{gdn_tok_s / tok_s:.1f}" if gdn_tok_s else "-"
            gtxt = f"{gdn_tok_s:.1f}" if gdn_tok_s else "-"
            print(f"| HF transformers | {cache} | {args.tokens} | {ms:.2f} | {tok_s:.1f} | {gtxt} | {ratio} | "
                  f"{gdn_note} |", flush=True)
        except Exception as e:  # noqa: BLE001
            msg = str(e).splitlines()[0][:160] if str(e) else ""
            print(f"| HF transformers | {cache} | {args.tokens} | - | - | - | - | failed: {type(e).__name__}: {msg} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
