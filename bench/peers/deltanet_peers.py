#!/usr/bin/env python3
"""The Gated DeltaNet decode step of the peers, timed the way bench/decode.cu times gdn's.

flash-linear-attention's `fused_recurrent_gated_delta_rule` (PyPI fla-core) and, when it can
run here, FlashInfer's `gated_delta_rule_decode` (PyPI flashinfer-python), at the Qwen3.5
shapes (Hk = 16, Hv = 16 or 48, dk = dv = 128), batch 1..256, decode mode (T = 1, float32
state in, state out). Each call is replayed in a CUDA graph over enough layers' states
(> 256 MB in all) that the state streams from HBM, not L2, as in a real decode step; eager
launches are timed instead when capture fails (the table says which).

State traffic counted: 2 * 4 * Hv * 128 * 128 * batch bytes per call (read + write), the same
count as gdn's table; GB/s against a device-to-device copy measured here (read + write).
With `--gdn-csv FILE` (written by `gdn_bench_decode --deltanet-csv FILE`) the table gets the
ratio peer time / gdn time (> 1: gdn is faster).

Prints a markdown table with the card's name. Needs torch with CUDA, and triton for fla.
"""
from __future__ import annotations

import argparse
import csv
import importlib
import importlib.util
import os
import sys
import time
import types

BATCHES = [1, 2, 4, 8, 16, 32, 64, 128, 256]
HK, D = 16, 128
WORKING_SET = 256 << 20


def copy_gbs(torch) -> float:
    n = 1 << 30
    a = torch.empty(n, dtype=torch.uint8, device="cuda")
    b = torch.empty_like(a)
    b.copy_(a)
    times = []
    for _ in range(10):
        e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        e0.record()
        b.copy_(a)
        e1.record()
        e1.synchronize()
        times.append(e0.elapsed_time(e1))
    times.sort()
    ms = times[len(times) // 2]
    del a, b
    torch.cuda.empty_cache()
    return 2.0 * n / (ms * 1e-3) / 1e9


def import_fla():
    """fla's fused_recurrent_gated_delta_rule, or (None, reason)."""
    try:
        from fla.ops.gated_delta_rule import fused_recurrent_gated_delta_rule
        return fused_recurrent_gated_delta_rule, None
    except Exception as e:  # fla/__init__ also imports its layers and models (transformers)
        first = f"{type(e).__name__}: {e}"
    # Load only the kernel module: stub the two package __init__s that import everything.
    for k in [k for k in sys.modules if k == "fla" or k.startswith("fla.")]:
        del sys.modules[k]
    spec = importlib.util.find_spec("fla")
    if spec is None or not spec.submodule_search_locations:
        return None, f"fla-core not installed ({first})"
    root = list(spec.submodule_search_locations)[0]
    for name, path in (("fla", root), ("fla.ops", os.path.join(root, "ops"))):
        m = types.ModuleType(name)
        m.__path__ = [path]
        sys.modules[name] = m
    try:
        mod = importlib.import_module("fla.ops.gated_delta_rule.fused_recurrent")
        return mod.fused_recurrent_gated_delta_rule, None
    except Exception as e:
        return None, f"fla import failed: {first}; kernel module alone: {type(e).__name__}: {e}"


def time_per_call(torch, calls, layers: int) -> tuple[float, str]:
    """Microseconds per call; calls[l]() runs layer l's step. Graph replay, else eager."""
    for c in calls:  # compile / autotune outside the graph
        c()
    torch.cuda.synchronize()
    reps = max(5, 400 // layers)  # 5 samples of >= 400 calls, as bench/decode.cu
    mode = "graph"
    try:
        g = torch.cuda.CUDAGraph()
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for c in calls:  # warm the side stream too
                c()
        torch.cuda.current_stream().wait_stream(s)
        torch.cuda.synchronize()
        with torch.cuda.graph(g):
            for c in calls:
                c()
        run = g.replay
        run()
    except Exception as e:  # noqa: BLE001
        mode = f"eager (capture failed: {type(e).__name__})"
        torch.cuda.synchronize()

        def run():
            for c in calls:
                c()
        reps = max(3, 200 // layers)
    torch.cuda.synchronize()
    samples = []
    for _ in range(5):
        e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        e0.record()
        for _ in range(reps):
            run()
        e1.record()
        e1.synchronize()
        samples.append(e0.elapsed_time(e1) * 1e3 / (reps * layers))
    samples.sort()
    return samples[len(samples) // 2], mode


def layers_for(state_bytes: int) -> int:
    return max(1, min(128, WORKING_SET // state_bytes + 1))


def fla_case(torch, fn, hv: int, batch: int):
    dev, bf = "cuda", torch.bfloat16
    state_bytes = batch * hv * D * D * 4
    layers = layers_for(state_bytes)
    gen = torch.Generator(device=dev).manual_seed(hv * 1000 + batch)

    def rnd(*shape, dtype=bf):
        return torch.randn(*shape, device=dev, dtype=torch.float32, generator=gen).to(dtype)

    # The activations a decode step gets from the projections (bf16, as HF runs it); the gate
    # and beta stay raw so the kernel does softplus/sigmoid, like gdn's step does.
    q, k = rnd(batch, 1, HK, D), rnd(batch, 1, HK, D)
    v = rnd(batch, 1, hv, D)
    g_raw, beta_raw = rnd(batch, 1, hv), rnd(batch, 1, hv)
    a_log = torch.rand(hv, device=dev, generator=gen).float()
    dt_bias = torch.rand(hv, device=dev, generator=gen).float()
    states = [0.01 * torch.randn(batch, hv, D, D, device=dev, generator=gen) for _ in range(layers)]

    def make(l):
        def call():
            return fn(q, k, v, g=g_raw, beta=beta_raw, initial_state=states[l], output_final_state=True,
                      use_qk_l2norm_in_kernel=True, use_gate_in_kernel=True, A_log=a_log, dt_bias=dt_bias,
                      use_beta_sigmoid_in_kernel=True)
        return call

    calls = [make(l) for l in range(layers)]
    us, mode = time_per_call(torch, calls, layers)
    del states, calls
    torch.cuda.empty_cache()
    return us, layers, mode


def flashinfer_case(torch, fn, hv: int, batch: int):
    dev, bf = "cuda", torch.bfloat16
    layers = layers_for(batch * hv * D * D * 4)
    q = torch.randn(batch, 1, HK, D, device=dev).to(bf)
    k = torch.randn(batch, 1, HK, D, device=dev).to(bf)
    v = torch.randn(batch, 1, hv, D, device=dev).to(bf)
    a = torch.randn(batch, 1, hv, device=dev).to(bf)
    b = torch.randn(batch, 1, hv, device=dev).to(bf)
    a_log = torch.rand(hv, device=dev).float()
    dt_bias = torch.rand(hv, device=dev).float()
    out = torch.empty(batch, 1, hv, D, device=dev, dtype=bf)
    # [B, HV, K, V] (gated_delta_rule_decode) or [B, HV, V, K] (_pretranspose): same size, in place
    states = [0.01 * torch.randn(batch, hv, D, D, device=dev) for _ in range(layers)]

    def make(l):
        def call():
            return fn(q, k, v, states[l], a_log, a, dt_bias, b, output=out, use_qk_l2norm=True)
        return call

    calls = [make(l) for l in range(layers)]
    us, mode = time_per_call(torch, calls, layers)
    del states, calls
    torch.cuda.empty_cache()
    return us, layers, mode


def dist_version(name: str) -> str:
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:  # noqa: BLE001
        return "?"


def read_gdn(path: str | None) -> dict[tuple[int, int], float]:
    out: dict[tuple[int, int], float] = {}
    if not path or not os.path.exists(path):
        return out
    with open(path) as f:
        for r in csv.DictReader(f):
            out[(int(r["hv"]), int(r["batch"]))] = float(r["us_per_call"])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gdn-csv", help="gdn's DeltaNet timings (gdn_bench_decode --deltanet-csv)")
    ap.add_argument("--batches", default=",".join(map(str, BATCHES)))
    ap.add_argument("--hv", default="16,48")
    ap.add_argument("--no-flashinfer", action="store_true")
    ap.add_argument("--flashinfer-budget-s", type=float, default=120.0,
                    help="skip FlashInfer if its first call (JIT compile) takes longer than this")
    args = ap.parse_args()
    try:
        import torch
    except Exception as e:  # noqa: BLE001
        print(f"skipped: no torch ({e})")
        return 0
    if not torch.cuda.is_available():
        print("skipped: no CUDA device")
        return 0
    card = torch.cuda.get_device_name()
    bw = copy_gbs(torch)
    batches = [int(x) for x in args.batches.split(",")]
    hvs = [int(x) for x in args.hv.split(",")]
    gdn = read_gdn(args.gdn_csv)

    peers = []
    fla_fn, why = import_fla()
    if fla_fn is None:
        print(f"fla: skipped: {why}")
    else:
        peers.append(("fla fused_recurrent", fla_fn, fla_case, dist_version("fla-core")))
    if args.no_flashinfer:
        print("flashinfer: skipped (--no-flashinfer)")
    else:
        try:
            from flashinfer.gdn_decode import gated_delta_rule_decode
            ver = dist_version("flashinfer-python")
            peers.append(("flashinfer gdn_decode", gated_delta_rule_decode, flashinfer_case, ver))
            try:  # the V-major state layout [B, HV, V, K] ("pretranspose"), FlashInfer's other T=1 entry
                from flashinfer.gdn_decode import gated_delta_rule_decode_pretranspose
                peers.append(("flashinfer gdn_decode_pretranspose", gated_delta_rule_decode_pretranspose,
                              flashinfer_case, ver))
            except ImportError:
                pass
        except Exception as e:  # noqa: BLE001
            print(f"flashinfer: skipped: cannot import flashinfer.gdn_decode ({type(e).__name__}: {e}). "
                  "The flashinfer-python wheel (62 MB) needs nvidia-cutlass-dsl (CuTe DSL), cuda-python and "
                  "apache-tvm-ffi at run time, more than the 64 MiB that travels to the GPU machine.")

    print(f"\nGated DeltaNet decode step (T=1, Hk={HK}, dk=dv={D}, f32 state) on {card}, "
          f"copy {bw:.0f} GB/s (read + write); state bytes 2*4*Hv*dk*dv*batch per call\n")
    print("| impl | version | Hv | batch | layers | us_per_call | state_GB_s | pct_copy | peer_over_gdn | mode |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    torch.set_grad_enabled(False)
    for name, fn, case, ver in peers:
        for hv in hvs:
            for batch in batches:
                t0 = time.time()
                try:
                    us, layers, mode = case(torch, fn, hv, batch)
                except Exception as e:  # noqa: BLE001
                    print(f"| {name} | {ver} | {hv} | {batch} | - | - | - | - | - | error: {type(e).__name__}: "
                          f"{str(e).splitlines()[0][:160] if str(e) else ''} |", flush=True)
                    if "flashinfer" in name:
                        break
                    continue
                gbs = 2.0 * 4 * hv * D * D * batch / (us * 1e-6) / 1e9
                g = gdn.get((hv, batch))
                ratio = f"{us / g:.2f}" if g else "-"
                print(f"| {name} | {ver} | {hv} | {batch} | {layers} | {us:.2f} | {gbs:.0f} | "
                      f"{100 * gbs / bw:.1f}% | {ratio} | {mode} |", flush=True)
                if "flashinfer" in name and time.time() - t0 > args.flashinfer_budget_s:
                    print(f"flashinfer: stopped: one case took {time.time() - t0:.0f} s (JIT compile?)")
                    break
    for (hv, batch), us in sorted(gdn.items()):
        if hv in hvs and batch in batches:
            gbs = 2.0 * 4 * hv * D * D * batch / (us * 1e-6) / 1e9
            print(f"| gdn deltanet_step | - | {hv} | {batch} | - | {us:.2f} | {gbs:.0f} | "
                  f"{100 * gbs / bw:.1f}% | 1.00 | graph (from --gdn-csv; % of this script's copy) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
