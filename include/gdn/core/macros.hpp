// gdn/core/macros.hpp - host/device qualifiers that degrade to plain C++ under g++.
#pragma once

#if defined(__CUDACC__)
#define GDN_HOST_DEVICE __host__ __device__
#define GDN_DEVICE __device__
#define GDN_FORCEINLINE __forceinline__
#else
#define GDN_HOST_DEVICE
#define GDN_DEVICE
#define GDN_FORCEINLINE inline
#endif

#define GDN_VERSION_MAJOR 0
#define GDN_VERSION_MINOR 1
#define GDN_VERSION_PATCH 0
