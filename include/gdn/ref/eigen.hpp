// gdn/ref/eigen.hpp - how gdn/ref includes Eigen. The reference is host code; under nvcc,
// Eigen would otherwise mark its functions __host__ __device__ and nvcc 13 warns (#20012)
// on its defaulted constructors, which breaks GPU tests built with -Werror=all-warnings.
// Define EIGEN_NO_CUDA yourself (or include Eigen first) to choose otherwise.
#pragma once

#if defined(__CUDACC__) && !defined(EIGEN_NO_CUDA)
#define EIGEN_NO_CUDA
#endif

#include <Eigen/Core>
