// AVX2 Conba scan (conba_scan_avx2.cpp): conba_scan_avx512.h's design with
// eight channels at a time, for CPUs with AVX2 and FMA but no AVX-512.
#pragma once

#include "core/backend.h"

namespace mixcon {
namespace cpu {

// Any shape (tails of d_inner and d_state are masked). Call only when the
// CPU has AVX2 and FMA (cpu_features.h).
void conba_scan_avx2(const ConbaScanArgs& a, int n_threads);

}  // namespace cpu
}  // namespace mixcon
