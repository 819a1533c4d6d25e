// gdn/quant/quant.hpp - everything in gdn/quant/: f16/bf16 bits, ggml block layouts,
// format tags, the runtime type dispatch, quantisers and the Walsh-Hadamard transform.
#pragma once

#include "gdn/quant/blocks.hpp"
#include "gdn/quant/dispatch.hpp"
#include "gdn/quant/formats.hpp"
#include "gdn/quant/half.hpp"
#include "gdn/quant/quantize.hpp"
#include "gdn/quant/quantizers.hpp"
#include "gdn/quant/wht.hpp"
