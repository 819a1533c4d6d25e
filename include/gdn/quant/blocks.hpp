// gdn/quant/blocks.hpp - the ggml block structs (gdn::quant::BlockQ8_0, ...) and their helpers,
// each defined with its format in gdn/quant/formats/<name>.hpp; this header gathers them.
#pragma once

#include "gdn/quant/formats.hpp"
