// gdn/gdn.cuh - all of gdn: the host-only parts (gdn.hpp), the CUDA kernels and the CUDA
// decoder (fixed fused schedule replayed as a CUDA graph).
#pragma once

#include "gdn/gdn.hpp"
#include "gdn/kernels/attention_decode.cuh"
#include "gdn/kernels/deltanet_step.cuh"
#include "gdn/kernels/embedding.cuh"
#include "gdn/kernels/gemv.cuh"
#include "gdn/kernels/norm.cuh"
#include "gdn/kernels/sampling.cuh"
#include "gdn/schedule/decoder.cuh"
#include "gdn/schedule/device_weights.cuh"
