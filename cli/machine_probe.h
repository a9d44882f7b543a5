// What the benchmark measures about the machine itself, so every speed it
// reports can be set against a bound taken on the same machine, in the same
// minutes (PERF.md): the read bandwidth of main memory and the FMA peak of
// the instruction family a kernel path uses.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mixcon {
namespace bench {

// The multiply-add families a kernel path can be built on; the peak of each
// is measured with a tight loop of that instruction.
enum class PeakKind {
  F32Fma,    // vfmadd (AVX-512F, else AVX2+FMA, else plain a·b + c as the portable kernels)
  Bf16Dot,   // vdpbf16ps (AVX512_BF16): 2 bf16 products per f32 lane
  Int8Vnni,  // vpdpbusd (AVX512_VNNI, else AVX_VNNI): 4 int8 products per i32 lane
  Int8Avx2,  // vpmaddubsw + vpmaddwd + vpaddd (AVX2, the int8 path without VNNI): the same
};
// "f32-fma", "bf16-dot", "int8-vnni", "int8-avx2"
const char* peak_kind_name(PeakKind k);
// Whether this CPU has the instructions of `k` on the kernel path in use
// (MIXCON_CPU_KERNELS may pin a narrower one than the CPU's best; F32Fma:
// always, it falls back to a scalar loop).
bool cpu_has_peak_kind(PeakKind k);

// "model name" of /proc/cpuinfo ("unknown" if absent).
std::string cpu_model_name();
// The x86 features that matter to the kernels and that this CPU has, in a
// fixed order (avx2, fma, f16c, avx512f, avx512bw, avx512vl, avx512_vnni,
// avx512_bf16, avx_vnni).
std::vector<std::string> cpu_features();
// Size of the largest cache of cpu0 (sysfs cache/index*/size), in bytes; 0
// when sysfs does not say.
int64_t last_level_cache_bytes();
// The GPU's name from the NVIDIA driver's /proc entry, "" if there is none.
std::string gpu_name();

// Read bandwidth in GB/s (1e9 bytes/s): `threads` threads sum disjoint
// slices of one buffer of at least 8× the last-level cache (and 256 MiB),
// best of `passes` timed passes (a STREAM-like "sum" kernel; the best pass is
// the bound, so roofline fractions against it are conservative).
double measure_read_bandwidth_GBs(int threads, int passes = 5);

// Peak GFLOP/s of `k` on `threads` threads (1e9 FLOP/s; one multiply-add is
// 2 FLOPs, so an int8 VNNI lane doing 4 products counts 8), best of
// `passes` short passes (a peak can only be under-measured, by a core taken
// away meanwhile, so the best pass is the bound). Returns 0 when the CPU
// lacks `k`.
double measure_peak_GFLOPs(PeakKind k, int threads, int passes = 12);

}  // namespace bench
}  // namespace mixcon
