#include "cli/machine_probe.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <memory>
#include <sstream>

#include "core/format/aligned_buffer.h"
#include "kernels/cpu/cpu_features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MIXCON_BENCH_X86 1
#endif

namespace mixcon {
namespace bench {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool has(const char* feature) {
#ifdef MIXCON_BENCH_X86
  __builtin_cpu_init();
  // __builtin_cpu_supports needs a literal; map the names we ask about.
  const std::string f(feature);
  if (f == "avx2") return __builtin_cpu_supports("avx2");
  if (f == "fma") return __builtin_cpu_supports("fma");
  if (f == "f16c") return mixcon::cpu::cpu_has_f16c();
  if (f == "avx512f") return __builtin_cpu_supports("avx512f");
  if (f == "avx512bw") return __builtin_cpu_supports("avx512bw");
  if (f == "avx512vl") return __builtin_cpu_supports("avx512vl");
  if (f == "avx512_vnni") return mixcon::cpu::cpu_has_avx512_vnni();
  if (f == "avx512_bf16") return mixcon::cpu::cpu_has_avx512_bf16();
  if (f == "avx_vnni") return mixcon::cpu::cpu_has_avx_vnni();
#else
  (void)feature;
#endif
  return false;
}

// has(), limited to the kernel path in use (MIXCON_CPU_KERNELS can pin a
// narrower one): PERF.md's peaks are those of the path that runs.
bool usable(const char* feature) {
  const std::string f(feature);
  const mixcon::cpu::KernelPath path = mixcon::cpu::kernel_path();
  if (f.rfind("avx512", 0) == 0 && path != mixcon::cpu::KernelPath::Avx512) return false;
  if (path == mixcon::cpu::KernelPath::Portable) return false;
  return has(feature);
}

// ---- read bandwidth ---------------------------------------------------------

float sum_scalar(const float* p, int64_t n) {
  float a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t i = 0; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) a[j] += p[i + j];
  return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

#ifdef MIXCON_BENCH_X86
__attribute__((target("avx2"))) float sum_avx2(const float* p, int64_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t i = 0; i + 32 <= n; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_load_ps(p + i));
    a1 = _mm256_add_ps(a1, _mm256_load_ps(p + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_load_ps(p + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_load_ps(p + i + 24));
  }
  const __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
  alignas(32) float out[8];
  _mm256_store_ps(out, s);
  return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

__attribute__((target("avx512f"))) float sum_avx512(const float* p, int64_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t i = 0; i + 64 <= n; i += 64) {
    a0 = _mm512_add_ps(a0, _mm512_load_ps(p + i));
    a1 = _mm512_add_ps(a1, _mm512_load_ps(p + i + 16));
    a2 = _mm512_add_ps(a2, _mm512_load_ps(p + i + 32));
    a3 = _mm512_add_ps(a3, _mm512_load_ps(p + i + 48));
  }
  // Stored and summed by hand: GCC 12's _mm512_reduce_add_ps warns spuriously.
  alignas(64) float out[16];
  _mm512_store_ps(out, _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  float s = 0.0f;
  for (float v : out) s += v;
  return s;
}
#endif

using SumFn = float (*)(const float*, int64_t);
SumFn best_sum() {
#ifdef MIXCON_BENCH_X86
  if (has("avx512f")) return sum_avx512;
  if (has("avx2")) return sum_avx2;
#endif
  return sum_scalar;
}

// ---- FMA peaks ----------------------------------------------------------------
// Each loop runs 12 independent accumulator chains, more than latency ×
// throughput of every current core, so the loop is bound by the FMA ports.
// Returns FLOPs done; `sink` keeps the result alive. A pass is short
// (~15 ms) and measure_peak_GFLOPs takes the best of many: on a VM a vCPU
// descheduled for a few hundred ms had halved all three of the former 66 ms
// passes, and a halved peak shows rooflines above 1.
constexpr int64_t kPeakIters = 5000000;

// The portable kernels are plain C++ (a·b + c, which the compiler
// vectorizes for the baseline instruction set and fuses where that has FMA,
// as on arm64): so is their peak. It was std::fma, which on x86-64 without
// -mfma is a library call: a 2 GFLOP/s "peak" and portable rooflines of 20.
double peak_scalar(float* sink) {
  constexpr int kLanes = 32;
  float a[kLanes];
  for (int j = 0; j < kLanes; ++j) a[j] = 1.0f + 0.01f * j;
  const float m = 0.999999f, c = 1e-6f;
  for (int64_t i = 0; i < kPeakIters / 4; ++i)
    for (int j = 0; j < kLanes; ++j) a[j] = a[j] * m + c;
  float s = 0;
  for (int j = 0; j < kLanes; ++j) s += a[j];
  *sink = s;
  return double(kPeakIters / 4) * kLanes * 2;
}

#ifdef MIXCON_BENCH_X86
// OP(a) is the instruction under test applied to accumulator a; the result is
// stored to memory so the loop cannot be optimized away.
// INIT(j) must differ per j, or the compiler merges the identical chains.
// Every accumulator in a register after every round: without it one
// compiler spilled the AVX-VNNI loop's accumulators to the stack (GCC: a
// 1.7x lower int8 peak) and another dropped chains it could see were not all
// needed (clang: a 1.4x higher f32 peak).
#define MIXCON_PEAK_KEEP(a, b, c, d, e, f) \
  asm volatile("" : "+x"(a), "+x"(b), "+x"(c), "+x"(d), "+x"(e), "+x"(f))
#define MIXCON_PEAK_LOOP(VEC, INIT, OP, LANES, FLOPS_PER_LANE)                            \
  VEC a0 = INIT(0), a1 = INIT(1), a2 = INIT(2), a3 = INIT(3), a4 = INIT(4), a5 = INIT(5),   \
      a6 = INIT(6), a7 = INIT(7), a8 = INIT(8), a9 = INIT(9), a10 = INIT(10), a11 = INIT(11); \
  for (int64_t i = 0; i < kPeakIters; ++i) {                                               \
    a0 = OP(a0); a1 = OP(a1); a2 = OP(a2); a3 = OP(a3); a4 = OP(a4); a5 = OP(a5);           \
    a6 = OP(a6); a7 = OP(a7); a8 = OP(a8); a9 = OP(a9); a10 = OP(a10); a11 = OP(a11);       \
    MIXCON_PEAK_KEEP(a0, a1, a2, a3, a4, a5);                                              \
    MIXCON_PEAK_KEEP(a6, a7, a8, a9, a10, a11);                                            \
  }                                                                                        \
  alignas(64) VEC keep[12] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11};           \
  float s = 0.0f;                                                                          \
  for (int j = 0; j < 12; ++j) {                                                           \
    float f;                                                                               \
    std::memcpy(&f, &keep[j], sizeof f);                                                   \
    s += f;                                                                                \
  }                                                                                        \
  *sink = s;                                                                               \
  return double(kPeakIters) * 12 * (LANES) * (FLOPS_PER_LANE);

__attribute__((target("avx2,fma"))) double peak_f32_avx2(float* sink) {
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
#define OP(a) _mm256_fmadd_ps(a, m, c)
#define INIT(j) _mm256_set1_ps(1.0f + 0.01f * (j))
  MIXCON_PEAK_LOOP(__m256, INIT, OP, 8, 2)
#undef OP
#undef INIT
}

__attribute__((target("avx512f"))) double peak_f32_avx512(float* sink) {
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);
#define OP(a) _mm512_fmadd_ps(a, m, c)
#define INIT(j) _mm512_set1_ps(1.0f + 0.01f * (j))
  MIXCON_PEAK_LOOP(__m512, INIT, OP, 16, 2)
#undef OP
#undef INIT
}

// vdpbf16ps: each f32 lane adds two bf16 products (4 FLOPs).
__attribute__((target("avx512f,avx512bf16"))) double peak_bf16_avx512(float* sink) {
  const __m512bh x = (__m512bh)_mm512_set1_epi16(0x3a83);  // bf16 ≈ 1e-3
#define OP(a) _mm512_dpbf16_ps(a, x, x)
#define INIT(j) _mm512_set1_ps(0.01f * (j))
  MIXCON_PEAK_LOOP(__m512, INIT, OP, 16, 4)
#undef OP
#undef INIT
}

// vpdpbusd: each i32 lane adds four u8·s8 products (8 ops).
__attribute__((target("avx512f,avx512vnni"))) double peak_i8_avx512(float* sink) {
  const __m512i u = _mm512_set1_epi8(1), s8 = _mm512_set1_epi8(1);
#define OP(a) _mm512_dpbusd_epi32(a, u, s8)
#define INIT(j) _mm512_set1_epi32(j)
  MIXCON_PEAK_LOOP(__m512i, INIT, OP, 16, 8)
#undef OP
#undef INIT
}

__attribute__((target("avx2,avxvnni"))) double peak_i8_avxvnni(float* sink) {
  const __m256i u = _mm256_set1_epi8(1), s8 = _mm256_set1_epi8(1);
#define OP(a) _mm256_dpbusd_avx_epi32(a, u, s8)
#define INIT(j) _mm256_set1_epi32(j)
  MIXCON_PEAK_LOOP(__m256i, INIT, OP, 8, 8)
#undef OP
#undef INIT
}
// Without VNNI the int8 kernels (kernels/cpu/matmul_avx2_int8.cpp) take
// four instructions for what vpdpbusd does in one: the activations' signs
// set by the weights', vpmaddubsw, vpmaddwd by ones, vpaddd into the
// accumulator. As in the kernels only the vpaddd is on the accumulator's
// chain, so the loop measures throughput, not latency; eight accumulators
// each take their own pair of operands, which the compiler must reload every
// round (it would otherwise compute the products once, out of the loop).
__attribute__((target("avx2"))) double peak_i8_avx2(float* sink) {
  __m256i w0 = _mm256_set1_epi8(1), w1 = _mm256_set1_epi8(2), w2 = _mm256_set1_epi8(3),
          w3 = _mm256_set1_epi8(4), x0 = _mm256_set1_epi8(5), x1 = _mm256_set1_epi8(6);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i a[8];
  for (int j = 0; j < 8; ++j) a[j] = _mm256_set1_epi32(j);
#define OP(acc, w, x) \
  _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(w, _mm256_sign_epi8(x, w)), ones))
  for (int64_t i = 0; i < kPeakIters * 3 / 2; ++i) {
    a[0] = OP(a[0], w0, x0); a[1] = OP(a[1], w1, x0); a[2] = OP(a[2], w2, x0); a[3] = OP(a[3], w3, x0);
    a[4] = OP(a[4], w0, x1); a[5] = OP(a[5], w1, x1); a[6] = OP(a[6], w2, x1); a[7] = OP(a[7], w3, x1);
    asm volatile("" : "+x"(w0), "+x"(w1), "+x"(w2), "+x"(w3), "+x"(x0), "+x"(x1));
    asm volatile("" : "+x"(a[0]), "+x"(a[1]), "+x"(a[2]), "+x"(a[3]));
    asm volatile("" : "+x"(a[4]), "+x"(a[5]), "+x"(a[6]), "+x"(a[7]));
  }
#undef OP
  __m256i t = a[0];
  for (int j = 1; j < 8; ++j) t = _mm256_add_epi32(t, a[j]);
  *sink = float(_mm256_extract_epi32(t, 0));
  return double(kPeakIters * 3 / 2) * 8 * 8 * 8;  // 8 accumulators × 8 lanes × 4 products
}
#undef MIXCON_PEAK_LOOP
#undef MIXCON_PEAK_KEEP
#endif

using PeakFn = double (*)(float*);
PeakFn peak_fn(PeakKind k) {
#ifdef MIXCON_BENCH_X86
  switch (k) {
    case PeakKind::F32Fma:
      if (usable("avx512f")) return peak_f32_avx512;
      if (usable("avx2") && usable("fma")) return peak_f32_avx2;
      return peak_scalar;
    case PeakKind::Bf16Dot:
      return usable("avx512_bf16") ? peak_bf16_avx512 : nullptr;
    case PeakKind::Int8Vnni:
      if (usable("avx512_vnni")) return peak_i8_avx512;
      if (usable("avx_vnni")) return peak_i8_avxvnni;
      return nullptr;
    case PeakKind::Int8Avx2:
      return usable("avx2") ? peak_i8_avx2 : nullptr;
  }
  return nullptr;
#else
  return k == PeakKind::F32Fma ? peak_scalar : nullptr;
#endif
}

std::string read_first_line(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

}  // namespace

const char* peak_kind_name(PeakKind k) {
  switch (k) {
    case PeakKind::F32Fma: return "f32-fma";
    case PeakKind::Bf16Dot: return "bf16-dot";
    case PeakKind::Int8Vnni: return "int8-vnni";
    case PeakKind::Int8Avx2: return "int8-avx2";
  }
  return "?";
}

bool cpu_has_peak_kind(PeakKind k) { return peak_fn(k) != nullptr; }

std::string cpu_model_name() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon == std::string::npos) break;
      size_t b = colon + 1;
      while (b < line.size() && line[b] == ' ') ++b;
      return line.substr(b);
    }
  }
  return "unknown";
}

std::vector<std::string> cpu_features() {
  std::vector<std::string> out;
  for (const char* f : {"avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                        "avx512_bf16", "avx_vnni"})
    if (has(f)) out.push_back(f);
  return out;
}

int64_t last_level_cache_bytes() {
  int64_t best = 0;
  for (int i = 0; i < 16; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    const std::string size = read_first_line(dir + "size");
    if (size.empty()) continue;
    // "32768K", "1M" or a plain byte count.
    char* end = nullptr;
    int64_t v = std::strtoll(size.c_str(), &end, 10);
    if (end && (*end == 'K' || *end == 'k')) v <<= 10;
    else if (end && (*end == 'M' || *end == 'm')) v <<= 20;
    else if (end && (*end == 'G' || *end == 'g')) v <<= 30;
    best = std::max(best, v);
  }
  return best;
}

std::string gpu_name() {
  // The driver's per-GPU "information" file has a "Model:" line; reading it
  // needs no CUDA runtime, so a CPU-only build can still name the GPU.
  DIR* d = opendir("/proc/driver/nvidia/gpus");
  if (!d) return "";
  std::string name;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream f(std::string("/proc/driver/nvidia/gpus/") + e->d_name + "/information");
    std::string line;
    while (std::getline(f, line))
      if (line.rfind("Model:", 0) == 0) {
        size_t b = 6;
        while (b < line.size() && (line[b] == ' ' || line[b] == '\t')) ++b;
        name = line.substr(b);
        break;
      }
    if (!name.empty()) break;
  }
  closedir(d);
  return name;
}

double measure_read_bandwidth_GBs(int threads, int passes) {
  const int64_t llc = last_level_cache_bytes();
  const int64_t bytes = std::max<int64_t>(8 * llc, int64_t(256) << 20);
  const int64_t n = bytes / int64_t(sizeof(float)) / 64 * 64;
  // Allocated as the model's weights are (AlignedBuffer: 2 MiB transparent
  // huge pages where granted), so the bound is read the way decode reads:
  // in 4 KiB pages the probe read ~15% slower than decode streamed the
  // weights, and showed decode rooflines above 1.
  mixcon::AlignedBuffer buf;
  try {
    buf = mixcon::AlignedBuffer(n * int64_t(sizeof(float)));
  } catch (const std::bad_alloc&) {
    return 0.0;
  }
  float* p = reinterpret_cast<float*>(buf.data());
  const SumFn sum = best_sum();
  // Each thread touches (first-touch) and later reads the same slice, as the
  // kernels' static row split does with the weights.
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t per = n / nt / 64 * 64;
    const int64_t b = t * per, e = t == nt - 1 ? n : b + per;
    for (int64_t i = b; i < e; ++i) p[i] = 1.0f;
  }
  double best = 0.0;
  volatile float sink = 0.0f;
  for (int pass = 0; pass < passes; ++pass) {
    float total = 0.0f;
    const double t0 = now_s();
#pragma omp parallel num_threads(threads) reduction(+ : total)
    {
      const int t = omp_get_thread_num(), nt = omp_get_num_threads();
      const int64_t per = n / nt / 64 * 64;
      const int64_t b = t * per, e = t == nt - 1 ? n : b + per;
      total += sum(p + b, e - b);
    }
    const double dt = now_s() - t0;
    sink = sink + total;
    best = std::max(best, double(n) * sizeof(float) / dt / 1e9);
  }
  return best;
}

double measure_peak_GFLOPs(PeakKind k, int threads, int passes) {
  const PeakFn f = peak_fn(k);
  if (!f) return 0.0;
  double best = 0.0;
  volatile float sink = 0.0f;
  for (int pass = 0; pass < passes; ++pass) {
    double flops = 0.0;
    float s = 0.0f;
    const double t0 = now_s();
#pragma omp parallel num_threads(threads) reduction(+ : flops, s)
    {
      float mine = 0.0f;
      flops += f(&mine);
      s += mine;
    }
    const double dt = now_s() - t0;
    sink = sink + s;
    best = std::max(best, flops / dt / 1e9);
  }
  return best;
}

}  // namespace bench
}  // namespace mixcon
