// gdn/kernels/ptx.cuh - the PTX and warp helpers every kernel family shares, defined once:
// cp.async copies into shared memory, ldmatrix, the mma.sync shapes gdn uses (TF32, s8 x s8,
// f16 / bf16), warp-wide sums and maxima, named barriers, gpu-scope acquire / release and the
// bulk L2 prefetch. Fragment layouts are those of the PTX ISA for
// each mma shape; thread (g, t) = (lane / 4, lane % 4).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "gdn/core/macros.hpp"

namespace gdn::kernels {

GDN_DEVICE GDN_FORCEINLINE uint32_t smem_addr(const void* p) {
    return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// ---- cp.async -----------------------------------------------------------------------------

/// 16 bytes global -> shared, through L2 only (cg).
GDN_DEVICE GDN_FORCEINLINE void cp_async16(void* smem, const void* gmem) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem_addr(smem)), "l"(gmem) : "memory");
}
/// 16 bytes, of which the first `n` (0 or 16) are read and the rest zero-filled.
GDN_DEVICE GDN_FORCEINLINE void cp_async16_zfill(void* smem, const void* gmem, int n) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(smem)), "l"(gmem), "r"(n)
                 : "memory");
}
/// 4 bytes, of which the first `n` (0 or 4) are read and the rest zero-filled.
GDN_DEVICE GDN_FORCEINLINE void cp_async4_zfill(void* smem, const void* gmem, int n) {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smem_addr(smem)), "l"(gmem), "r"(n)
                 : "memory");
}
GDN_DEVICE GDN_FORCEINLINE void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
/// Wait until at most N of this thread's committed groups are in flight.
template <int N>
GDN_DEVICE GDN_FORCEINLINE void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}
GDN_DEVICE GDN_FORCEINLINE void cp_async_wait_all() { cp_async_wait<0>(); }

// ---- ldmatrix and mma.sync -------------------------------------------------------------------

/// Four 8x4 32-bit matrices (rows given by lanes 8j..8j+7): thread l gets row l/4, word l%4.
GDN_DEVICE GDN_FORCEINLINE void ldmatrix_x4(uint32_t addr, uint32_t (&r)[4]) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}
/// f rounded to TF32 (round to nearest, ties away), as the bits mma.sync tf32 takes.
GDN_DEVICE GDN_FORCEINLINE uint32_t to_tf32(float f) {
    uint32_t r;
    asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(f));
    return r;
}
/// d += a (16x8, row) * b (8x8, col), TF32 inputs, float32 accumulators.
GDN_DEVICE GDN_FORCEINLINE void mma_tf32(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
/// d[4] = A (16 x 32 s8) * B (32 x 8 s8): a0/a2 rows g, a1/a3 rows g + 8, k 4t..4t+3 / 16+4t..;
/// b0/b1 column g, k 4t.. / 16+4t..; d0, d1 row g, columns 2t, 2t + 1; d2, d3 row g + 8.
GDN_DEVICE GDN_FORCEINLINE void mma_s8_k32(int (&d)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                           uint32_t b0, uint32_t b1) {
    asm("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%10, %10, %10, %10};\n"
        : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1), "r"(0));
}
/// d[4] = A (16 x 16 s8) * B (16 x 8 s8): a0 row g, a1 row g + 8, k 4t..4t+3; b0 column g.
GDN_DEVICE GDN_FORCEINLINE void mma_s8_k16(int (&d)[4], uint32_t a0, uint32_t a1, uint32_t b0) {
    asm("mma.sync.aligned.m16n8k16.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5}, {%6}, "
        "{%7, %7, %7, %7};\n"
        : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3])
        : "r"(a0), "r"(a1), "r"(b0), "r"(0));
}
/// d[4] += A (16 x 16 f16/bf16) * B (16 x 8): a0/a2 row g, a1/a3 row g + 8, k 2t, 2t+1 / 2t+8,
/// 2t+9; b0/b1 column g, the same k.
template <bool BF16>
GDN_DEVICE GDN_FORCEINLINE void mma_h_k16(float (&d)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                          uint32_t b0, uint32_t b1) {
    if constexpr (BF16) {
        asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
            "{%8, %9}, {%0, %1, %2, %3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
    } else {
        asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
            "{%8, %9}, {%0, %1, %2, %3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
    }
}

// ---- warp reductions (butterfly: every lane gets the result) ---------------------------------

GDN_DEVICE GDN_FORCEINLINE float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
GDN_DEVICE GDN_FORCEINLINE float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// ---- barriers, gpu-scope ordering, L2 prefetch ---------------------------------------------

/// bar.sync on named barrier Id for N threads (a multiple of 32): a __syncthreads of the
/// first N threads of the block, so the other warps may do something else meanwhile.
template <int Id, int N>
GDN_DEVICE GDN_FORCEINLINE void named_barrier() {
    static_assert(Id >= 0 && Id < 16 && N % 32 == 0, "bar.sync: id 0..15, a whole number of warps");
    asm volatile("bar.sync %0, %1;\n" ::"n"(Id), "n"(N) : "memory");
}
GDN_DEVICE GDN_FORCEINLINE uint32_t ld_acquire_gpu(const uint32_t* p) {
    uint32_t v;
    asm volatile("ld.acquire.gpu.global.u32 %0, [%1];\n" : "=r"(v) : "l"(p) : "memory");
    return v;
}
GDN_DEVICE GDN_FORCEINLINE void st_release_gpu(uint32_t* p, uint32_t v) {
    asm volatile("st.release.gpu.global.u32 [%0], %1;\n" ::"l"(p), "r"(v) : "memory");
}
/// atomicAdd with acquire-release semantics at gpu scope; returns the old value.
GDN_DEVICE GDN_FORCEINLINE uint32_t atom_add_acq_rel_gpu(uint32_t* p, uint32_t v) {
    uint32_t old;
    asm volatile("atom.add.acq_rel.gpu.global.u32 %0, [%1], %2;\n" : "=r"(old) : "l"(p), "r"(v) : "memory");
    return old;
}
/// atomicAdd with release semantics at gpu scope; returns the old value.
GDN_DEVICE GDN_FORCEINLINE uint32_t atom_add_release_gpu(uint32_t* p, uint32_t v) {
    uint32_t old;
    asm volatile("atom.add.release.gpu.global.u32 %0, [%1], %2;\n" : "=r"(old) : "l"(p), "r"(v) : "memory");
    return old;
}
/// The GPU's global nanosecond timer (profiling).
GDN_DEVICE GDN_FORCEINLINE uint64_t global_timer_ns() {
    uint64_t t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}
/// Ask L2 to fetch [p, p + bytes) (p and bytes multiples of 16) without waiting for it
/// (sm_90 cp.async.bulk.prefetch; a no-op below).
GDN_DEVICE GDN_FORCEINLINE void prefetch_l2_bulk(const void* p, uint32_t bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;\n" ::"l"(p), "r"(bytes) : "memory");
#else
    (void)p;
    (void)bytes;
#endif
}

}  // namespace gdn::kernels
