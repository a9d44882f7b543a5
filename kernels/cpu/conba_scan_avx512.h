// AVX-512 Conba scan (conba_scan_avx512.cpp): the same three passes as
// conba_scan.cpp, with sixteen channels at a time. A channel's state row
// (d_state values) is one or more 16-lane vectors; the per-channel scalars
// (Δ, s, ū, y, the gate) are one vector for the sixteen channels, so
// softplus, sigmoid and SiLU run as vector math instead of scalar libm calls,
// and y for the sixteen channels comes out of one register reduction.
//
// Sixteen independent state updates per token also hide the latency of each
// channel's chain h_{t-1} → h_t, which bounded the one-channel-at-a-time walk.
#pragma once

#include "core/backend.h"

namespace mixcon {
namespace cpu {

// Any shape (tails of d_inner and d_state are masked). Call only when the
// CPU has AVX512F (cpu_features.h).
void conba_scan_avx512(const ConbaScanArgs& a, int n_threads);

}  // namespace cpu
}  // namespace mixcon
