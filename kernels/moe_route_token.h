// The expert choice of MODEL.md §2 for one token, written once for every
// backend (plain C++ for the CPU, a device function under nvcc), so a CPU
// and a GPU session choose the same experts from the same logits, ties
// included, and weigh them alike:
// - k passes of "largest not yet chosen", scanning upwards with a strict >,
//   so among equal logits the lower index wins;
// - the chosen in ascending expert order, so every path adds the experts'
//   outputs in the same order (insertion sort: k is small);
// - the softmax over the chosen, its sum in double.
#pragma once

#include <math.h>

#include <cstdint>

#ifdef __CUDACC__
#define MIXCON_HOST_DEVICE __host__ __device__
#else
#define MIXCON_HOST_DEVICE
#endif

namespace mixcon {

// r: the token's n_experts router logits; id, w: its top_k expert ids and
// weights.
MIXCON_HOST_DEVICE inline void route_token(const float* r, int64_t n_experts, int64_t top_k,
                                           int32_t* id, float* w) {
  for (int64_t k = 0; k < top_k; ++k) {
    int64_t best = -1;
    for (int64_t e = 0; e < n_experts; ++e) {
      bool taken = false;
      for (int64_t j = 0; j < k; ++j) taken |= id[j] == e;
      if (taken) continue;
      if (best < 0 || r[e] > r[best]) best = e;
    }
    id[k] = static_cast<int32_t>(best);
  }
  for (int64_t k = 1; k < top_k; ++k)
    for (int64_t j = k; j > 0 && id[j - 1] > id[j]; --j) {
      const int32_t tmp = id[j];
      id[j] = id[j - 1];
      id[j - 1] = tmp;
    }
  float m = r[id[0]];
  for (int64_t k = 1; k < top_k; ++k) m = r[id[k]] > m ? r[id[k]] : m;
  double sum = 0.0;
  for (int64_t k = 0; k < top_k; ++k) {
    w[k] = expf(r[id[k]] - m);
    sum += w[k];
  }
  for (int64_t k = 0; k < top_k; ++k) w[k] = static_cast<float>(w[k] / sum);
}

}  // namespace mixcon
