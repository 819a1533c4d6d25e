// gdn/gdn.hpp - everything of gdn that builds with a plain C++20 compiler: core types, the
// quant formats, the GGUF reader/loader and tokenizer, the CPU reference, and the
// compile-time model description with its reference decoder.
#pragma once

#include "gdn/core/config.hpp"
#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/macros.hpp"
#include "gdn/core/shapes.hpp"
#include "gdn/core/tensor.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/io/gguf.hpp"
#include "gdn/io/qwen35.hpp"
#include "gdn/io/tokenizer.hpp"
#include "gdn/quant/quant.hpp"
#include "gdn/ref/decoder.hpp"
#include "gdn/ref/mtp.hpp"
#include "gdn/ref/speculative.hpp"
#include "gdn/schedule/model.hpp"
#include "gdn/schedule/ref_decoder.hpp"
