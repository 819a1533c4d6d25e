#!/usr/bin/env python3
"""Test vectors for every gdn weight format from an outside truth: llama.cpp's own numpy
dequantisers in the `gguf` PyPI package (gguf.quants.dequantize), never gdn's code.

For each format: random blocks (random bytes, with every f16 / e8m0 scale field set to a sane
random value so no block decodes to inf/nan) and the float32 values gguf gives them.
Writes tests/data/quant/<name>.blocks (raw GGUF bytes) and <name>.f32 (the values), read by
tests/cpu/quant/test_vectors.cpp.

usage: pip install gguf numpy && python3 tools/make_quant_vectors.py [out_dir]
"""
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize

# name -> (blocks to write, byte offsets of f16 scales, byte offsets of e8m0 exponents)
FORMATS = {
    "f32": (512, [], []),
    "f16": (512, [], []),
    "bf16": (512, [], []),
    "q4_0": (128, [0], []),
    "q4_1": (128, [0, 2], []),
    "q5_0": (128, [0], []),
    "q5_1": (128, [0, 2], []),
    "q8_0": (128, [0], []),
    "q2_k": (32, [80, 82], []),
    "q3_k": (32, [108], []),
    "q4_k": (32, [0, 2], []),
    "q5_k": (32, [0, 2], []),
    "q6_k": (32, [208], []),
    "iq2_xxs": (32, [0], []),
    "iq2_xs": (32, [0], []),
    "iq2_s": (32, [0], []),
    "iq3_xxs": (32, [0], []),
    "iq3_s": (32, [0], []),
    "iq4_nl": (128, [0], []),
    "iq4_xs": (32, [0], []),
    "mxfp4": (128, [], [0]),
}


def make(name, rng):
    n_blocks, f16_at, e8m0_at = FORMATS[name]
    qt = T[name.upper()]
    elems, size = gguf.GGML_QUANT_SIZES[qt]
    if name == "f32":
        return rng.standard_normal(n_blocks * 8).astype(np.float32).view(np.uint8)
    if name == "f16":
        return (rng.standard_normal(n_blocks * 8) * 4).astype(np.float16).view(np.uint8)
    if name == "bf16":
        f = (rng.standard_normal(n_blocks * 8) * 4).astype(np.float32)
        return (f.view(np.uint32) >> 16).astype(np.uint16).view(np.uint8)
    raw = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
    for off in f16_at:  # |scale| in [2^-12, 2^-2], either sign (ggml's quantisers write both)
        mag = np.exp2(rng.uniform(-12, -2, n_blocks)) * rng.choice([-1, 1], n_blocks)
        raw[:, off:off + 2] = mag.astype(np.float16).view(np.uint8).reshape(n_blocks, 2)
    for off in e8m0_at:  # 2^(e - 127) in [2^-12, 2^2]
        raw[:, off] = rng.integers(127 - 12, 127 + 3, n_blocks, dtype=np.uint8)
    return raw.reshape(-1)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "data", "quant")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20261207)
    for name in FORMATS:
        raw = make(name, rng)
        qt = T[name.upper()]
        vals = dequantize(raw, qt).astype(np.float32).reshape(-1)
        assert np.all(np.isfinite(vals)), name
        raw.tofile(os.path.join(out, name + ".blocks"))
        vals.tofile(os.path.join(out, name + ".f32"))
        print(f"{name}: {raw.size} bytes -> {vals.size} values, max |v| {np.abs(vals).max():.4g}")


if __name__ == "__main__":
    main()
