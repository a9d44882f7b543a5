// The weights the next panel pack will read, asked for a few cache lines at a
// time while the current panels' tiles compute. Every packed prefill product
// (float, int8, bf16) walks a share of rows in blocks of `block` rows and,
// within a block, in column ranges; its pack reads its rows from DRAM. Issued
// all at once at the start of a pack, the same prefetches filled the miss
// queue and the pack waited for the whole fetch (int8 prefill, Zen 4: packing
// was ~7.5% of the time, mostly waiting); spread over the tiles the fetch
// hides behind their arithmetic: int8 +3-5%, bf16 +3-4%, f16/q8_0 exact +2-3%
// of a 512-token prefill, f32 the same (A/B alternating in one process).
//
// Where the next pack's rows fit in 24 KiB (narrow products, such as the
// Conba selection matrices of 64 columns) they go to L1; wider ones go to L2,
// where the panels being multiplied are (with int8 panels of 512 columns,
// 20 KiB, L1 had measured ~4% faster than L2; whole-row panels, kGemmKc in
// matmul_avx512.h, were then faster still).
#pragma once

#include <cstdint>

#include "core/backend.h"
#include "core/format/dtype.h"

namespace mixcon {
namespace cpu {

class PanelPrefetch {
 public:
  static constexpr int kMaxRows = 32;
  static constexpr int64_t kL1Bytes = 24 << 10;

  // The pack after the one of rows [r, r + block) × columns [k0, k0 + kc) in
  // that walk (column ranges of kc_max): the same rows' next columns, or
  // after the last range the next block's first. Nothing past row r1.
  PanelPrefetch(const MatrixRef& w, int64_t r, int64_t r1, int64_t block, int64_t k0, int64_t kc,
                int64_t kc_max) {
    const bool next_cols = k0 + kc < w.cols;
    const int64_t next_r = next_cols ? r : r + block;
    const int64_t next_k0 = next_cols ? k0 + kc : 0;
    const int64_t next_kc = w.cols - next_k0 < kc_max ? w.cols - next_k0 : kc_max;
    const int64_t offset = dtype_row_bytes(w.dtype, next_k0);
    // One line more than bytes/64 covers a range that does not start on a line.
    lines_ = (dtype_row_bytes(w.dtype, next_kc) + 127) / 64;
    for (int64_t i = next_r; i < r1 && i < next_r + block && n_ < kMaxRows; ++i)
      row_[n_++] = w.row<char>(i) + offset;
  }

  // The k-th of the lines() cache lines it asks for, in order (tests check
  // the walk; step() keeps a cursor instead of dividing).
  int64_t lines() const { return int64_t(n_) * lines_; }
  const char* line(int64_t k) const { return row_[k / lines_] + (k % lines_) * 64; }
  int64_t issued() const { return row_at_ * lines_ + line_at_; }

  // Spreads what is left over `steps` calls of step().
  void plan(int64_t steps) {
    const int64_t total = lines();
    const int64_t left = total - (row_at_ * lines_ + line_at_);
    to_l1_ = total * 64 <= kL1Bytes;
    per_step_ = steps > 0 ? (left + steps - 1) / steps : left;
  }
  __attribute__((always_inline)) inline void step() {
    for (int64_t k = 0; k < per_step_ && row_at_ < n_; ++k) {
      const char* p = row_[row_at_] + line_at_ * 64;
      // Locality 3 is x86's prefetcht0 (into L1), 2 prefetcht1 (into L2).
      if (to_l1_)
        __builtin_prefetch(p, 0, 3);
      else
        __builtin_prefetch(p, 0, 2);
      if (++line_at_ == lines_) line_at_ = 0, ++row_at_;
    }
  }
  // Whatever step() has not asked for yet.
  void finish() {
    per_step_ = lines();
    step();
  }

 private:
  const char* row_[kMaxRows];
  int n_ = 0;
  int64_t lines_ = 0, per_step_ = 0;
  int row_at_ = 0;
  int64_t line_at_ = 0;
  bool to_l1_ = false;
};

}  // namespace cpu
}  // namespace mixcon
