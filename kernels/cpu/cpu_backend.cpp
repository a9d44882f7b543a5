// Backend over host memory: each op forwards to its kernel in kernels/cpu.
#include "kernels/cpu/cpu_backend.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include <sys/mman.h>

#include "core/common/status.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/matmul_bf16_act.h"
#include "kernels/cpu/matmul_group.h"
#include "kernels/cpu/q8_activations.h"

namespace mixcon {
namespace {

// Cache-line alignment for every session buffer (and room for wider SIMD).
constexpr size_t kAlign = 64;

// A KV cache or Conba ring of many megabytes in 4 KiB pages costs a page
// fault per page on first touch (a fork of a 32K-token session faulted in
// 70,000 of them) and a TLB miss per page when streamed. Where the kernel
// does transparent huge pages on request, ask for them; untouched parts of
// a buffer still cost nothing. Failure is harmless: 4 KiB pages stay.
constexpr size_t kHugePageMin = size_t(4) << 20;
void advise_huge_pages(void* raw, size_t size) {
#ifdef MADV_HUGEPAGE
  if (size < kHugePageMin) return;
  const uintptr_t page = 4096;
  const uintptr_t b = (reinterpret_cast<uintptr_t>(raw) + page - 1) & ~(page - 1);
  const uintptr_t e = (reinterpret_cast<uintptr_t>(raw) + size) & ~(page - 1);
  if (e > b) madvise(reinterpret_cast<void*>(b), e - b, MADV_HUGEPAGE);
#else
  (void)raw;
  (void)size;
#endif
}

class CpuBackend final : public Backend {
 public:
  Device device() const override { return Device::Cpu; }
  const char* name() const override { return cpu::cpu_kernel_path(); }

  // calloc gives zeroed memory without touching it (large blocks come
  // straight from mmap), so a KV cache planned for a long context costs
  // address space, not page faults, until it is used. Aligned by hand: the
  // pointer calloc returned is kept just below the aligned block.
  void* alloc(int64_t bytes) const override {
    if (bytes < 0) fail(Status::Internal, "cpu backend: negative allocation");
    const size_t size = static_cast<size_t>(bytes) + kAlign + sizeof(void*);
    void* raw = std::calloc(1, size);
    if (!raw)
      fail(Status::OutOfMemory, "cpu backend: cannot allocate " + std::to_string(bytes) + " bytes");
    const uintptr_t base = reinterpret_cast<uintptr_t>(raw) + sizeof(void*);
    void* p = reinterpret_cast<void*>((base + kAlign - 1) & ~static_cast<uintptr_t>(kAlign - 1));
    static_cast<void**>(p)[-1] = raw;
    advise_huge_pages(raw, size);
    return p;
  }
  void release(void* p) const noexcept override {
    if (p) std::free(static_cast<void**>(p)[-1]);
  }
  // No streams: every call has finished when it returns.
  void upload(Stream* s, void* dst, const void* src, int64_t bytes) const override {
    copy(s, dst, src, bytes);
  }
  void download(Stream* s, void* dst, const void* src, int64_t bytes) const override {
    copy(s, dst, src, bytes);
  }
  void copy(Stream*, void* dst, const void* src, int64_t bytes) const override {
    if (bytes > 0 && dst != src) std::memmove(dst, src, static_cast<size_t>(bytes));
  }
  void zero(Stream*, void* dst, int64_t bytes) const override {
    if (bytes > 0) std::memset(dst, 0, static_cast<size_t>(bytes));
  }
  const void* map_weight(const void* host, int64_t) override { return host; }

  int64_t scratch_floats_per_thread(int64_t max_cols, int64_t head_dim) const override {
    // matmul: a thread's packed weight panels; attention: a tile's
    // accumulators and key/value blocks. Rounded to a cache line so threads
    // never share one.
    const int64_t panels = cpu::matmul_scratch_floats(max_cols);
    const int64_t att = cpu::kAttentionScratchRows * head_dim;
    const int64_t n = panels > att ? panels : att;
    return (n + 15) / 16 * 16;
  }

  int64_t activation_bytes(DType t, int64_t rows, int64_t max_cols) const override {
    switch (t) {
      case DType::Q8_0: return cpu::q8_activation_bytes(rows, (max_cols + 31) / 32 * 32);
      case DType::BF16: return cpu::bf16_activation_bytes(rows, max_cols);
      default: return 0;
    }
  }

  void matmul(const ExecContext& cx, const MatrixRef& w, const float* x, int64_t n,
              float* y) const override {
    cpu::matmul_group(&w, 1, x, n, &y, cx);
  }
  void matmul_group(const ExecContext& cx, const MatrixRef* w, int count, const float* x,
                    int64_t n, float* const* y) const override {
    cpu::matmul_group(w, count, x, n, y, cx);
  }
  void embed(const ExecContext& cx, const MatrixRef& table, const int32_t* tokens, int64_t n,
             float* out) const override {
    cpu::embed(table, tokens, n, out, cx.n_threads);
  }
  void rmsnorm(const ExecContext& cx, const float* x, const float* g, int64_t n, int64_t d,
               float eps, float* y) const override {
    cpu::rmsnorm(x, g, n, d, eps, y, cx.n_threads);
  }
  void store_kv(const ExecContext&, const float* src, int64_t n, int64_t n_heads,
                int64_t head_dim, int64_t pos0, int64_t head_stride, DType dtype,
                void* dst) const override {
    cpu::store_kv(src, n, n_heads, head_dim, pos0, head_stride, dtype, dst);
  }
  void add(const ExecContext& cx, float* y, const float* x, int64_t count) const override {
    cpu::add(y, x, count, cx.n_threads);
  }
  void rope(const ExecContext& cx, float* x, int64_t n, int64_t row_stride, int64_t n_heads,
            int64_t head_dim, int64_t pos0, double theta) const override {
    cpu::rope(x, n, row_stride, n_heads, head_dim, pos0, theta, cx.n_threads);
  }
  void attention(const ExecContext& cx, const AttentionArgs& a) const override {
    cpu::attention(a, cx);
  }
  void causal_conv(const ExecContext& cx, const CausalConvArgs& a) const override {
    cpu::causal_conv(a, cx.n_threads);
  }
  void conba_scan(const ExecContext& cx, const ConbaScanArgs& a) const override {
    cpu::conba_scan(a, cx.n_threads);
  }
  void swiglu(const ExecContext& cx, const float* gate, const float* up, float* out,
              int64_t count) const override {
    cpu::swiglu(gate, up, out, count, cx.n_threads);
  }
  void moe_route(const ExecContext&, const float* logits, int64_t n, int64_t n_experts,
                 int64_t top_k, int32_t* ids, float* weights) const override {
    cpu::moe_route(logits, n, n_experts, top_k, ids, weights);
  }
  void gather_rows(const ExecContext& cx, const float* src, int64_t d, const int32_t* rows,
                   int64_t count, float* dst) const override {
    cpu::gather_rows(src, d, rows, count, dst, cx.n_threads);
  }
  void scatter_add_rows(const ExecContext& cx, const float* src, int64_t d, const int32_t* rows,
                        const float* scale, int64_t count, float* dst) const override {
    cpu::scatter_add_rows(src, d, rows, scale, count, dst, cx.n_threads);
  }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace mixcon
