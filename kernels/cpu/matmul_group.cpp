#include "kernels/cpu/matmul_group.h"

#include <algorithm>
#include <string>

#include "core/common/status.h"
#include "core/format/dtype.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/matmul_bf16_act.h"
#include "kernels/cpu/matmul_bf16dot.h"
#include "kernels/cpu/matmul_q8_act.h"
#include "kernels/cpu/thread_pool.h"

namespace mixcon {
namespace cpu {
namespace {

void run_rows(const Product& p, int64_t r0, int64_t r1, float* buf) {
  if (p.q8) return matmul_q8_act_rows(*p.w, *p.q8, p.y, r0, r1, buf);
  if (p.bf16) {
    if (p.n == 1) return matvec_bf16dot_rows(*p.w, p.bf16, p.y, r0, r1);
    return matmul_bf16dot_rows(*p.w, p.bf16, p.bf16_stride, p.n, p.y, r0, r1, buf);
  }
  matmul_rows(*p.w, p.x, p.n, p.y, r0, r1, buf);
}

}  // namespace

void run_products(const Product* p, int count, const ExecContext& cx) {
  // Decode streams the weights: what a share is worth is the bytes it reads.
  // (Counting multiply-adds left the f32 Conba selection matrices, 512 KiB
  // each, on one thread.) Prefill computes: multiply-adds.
  int64_t bytes = 0, macs = 0;
  for (int i = 0; i < count; ++i) {
    bytes += p[i].w->rows * p[i].w->row_bytes;
    macs += p[i].w->rows * p[i].w->cols * p[i].n;
  }
  const bool decode = p[0].n == 1;
  const int nt = (decode ? bytes >= kMatvecParallelMinBytes : macs >= kParallelMinWork) ? cx.n_threads : 1;
  if (decode) {
    // Units of about kMatvecUnitBytes of weights (whole 16-row blocks), the
    // group's products one after the other, balanced over the threads at
    // run time (parallel_balanced): against fixed halves, +2-7% decode
    // tok/s for every weight dtype (bench-small, 2 threads, A/B alternating
    // in one process), the same bits.
    int64_t unit_rows[kMaxGroup], first_unit[kMaxGroup + 1];
    first_unit[0] = 0;
    for (int i = 0; i < count; ++i) {
      const int64_t rows16 = kMatvecUnitBytes / p[i].w->row_bytes / 16 * 16;
      unit_rows[i] = rows16 > 16 ? rows16 : 16;
      first_unit[i + 1] = first_unit[i] + (p[i].w->rows + unit_rows[i] - 1) / unit_rows[i];
    }
    parallel_balanced(nt, first_unit[count], [&](int64_t u, int) {
      int i = 0;
      while (u >= first_unit[i + 1]) ++i;
      const int64_t r0 = (u - first_unit[i]) * unit_rows[i];
      run_rows(p[i], r0, std::min(r0 + unit_rows[i], p[i].w->rows), nullptr);
    });
    return;
  }
  parallel(nt, [&](int t, int parts) {
    float* buf = cx.scratch ? cx.scratch + int64_t(t) * cx.scratch_floats_per_thread : nullptr;
    for (int i = 0; i < count; ++i) {
      int64_t r0, r1;
      share_rows16(p[i].w->rows, t, parts, &r0, &r1);
      if (r0 < r1) run_rows(p[i], r0, r1, buf);
    }
  });
}

void matmul_group(const MatrixRef* w, int count, const float* x, int64_t n, float* const* y,
                  const ExecContext& cx) {
  if (count < 1 || count > kMaxGroup)
    fail(Status::Internal, "matmul_group: 1 to " + std::to_string(kMaxGroup) + " products");
  const int64_t cols = w[0].cols;
  bool q8 = false, bf = false;
  for (int i = 0; i < count; ++i) {
    if (w[i].cols != cols) fail(Status::Internal, "matmul_group: products of one input need one width");
    q8 = q8 || (cx.act && cx.act_dtype == DType::Q8_0 && w[i].dtype == DType::Q8_0);
    bf = bf || (cx.act && cx.act_dtype == DType::BF16 && w[i].dtype == DType::BF16);
  }
  // The input rounded once for every product that takes it.
  Q8Activations a;
  Bf16Input b;
  if (q8) {
    if (q8_activation_bytes(n, cols) > cx.act_bytes)
      fail(Status::Internal, "matmul: the session's int8 activation buffer is too small");
    a = q8_activations_in(cx.act, n, cols);
    quantize_q8_activations(x, a, cx.n_threads);
  }
  if (bf) b = round_activations_bf16(x, n, cols, cx);
  Product p[kMaxGroup];
  for (int i = 0; i < count; ++i) {
    p[i].w = &w[i];
    p[i].n = n;
    p[i].y = y[i];
    p[i].x = x;
    if (q8 && w[i].dtype == DType::Q8_0) {
      p[i].q8 = &a;
    } else if (bf && w[i].dtype == DType::BF16) {
      p[i].x = b.rounded;
      p[i].bf16 = b.bf16;
      p[i].bf16_stride = b.stride;
    }
  }
  run_products(p, count, cx);
}

}  // namespace cpu
}  // namespace mixcon
