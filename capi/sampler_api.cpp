// Sampler entry points.
#include <cstring>

#include "errors.h"
#include "handles.h"
#include "struct_size.h"

using mixcon::capi::guard;
using mixcon::capi::require;

namespace {

mixcon_sampler_options default_sampler_options() {
  const mixcon::SamplerOptions d;
  mixcon_sampler_options o;
  std::memset(&o, 0, sizeof o);
  o.struct_size = sizeof o;
  o.temperature = d.temperature;
  o.top_k = d.top_k;
  o.top_p = d.top_p;
  o.min_p = d.min_p;
  o.repetition_penalty = d.repetition_penalty;
  o.repetition_window = d.repetition_window;
  o.seed = static_cast<int64_t>(d.seed);
  return o;
}

}  // namespace

extern "C" {

MIXCON_API mixcon_status mixcon_sampler_options_init(mixcon_sampler_options* opts) {
  return guard("mixcon_sampler_options_init", [&] {
    require(opts != nullptr, "opts is NULL");
    *opts = default_sampler_options();
  });
}

MIXCON_API mixcon_status mixcon_sampler_create(const mixcon_sampler_options* opts,
                                               mixcon_sampler** out_sampler) {
  return guard("mixcon_sampler_create", [&] {
    require(out_sampler != nullptr, "out_sampler is NULL");
    mixcon_sampler_options o = default_sampler_options();
    if (opts) {
      using T = mixcon_sampler_options;
      mixcon::capi::check_struct_size(opts, offsetof(T, temperature) + sizeof(float),
                                      "mixcon_sampler_options");
      if (MIXCON_COVERS(opts, T, temperature)) o.temperature = opts->temperature;
      if (MIXCON_COVERS(opts, T, top_k)) o.top_k = opts->top_k;
      if (MIXCON_COVERS(opts, T, top_p)) o.top_p = opts->top_p;
      if (MIXCON_COVERS(opts, T, min_p)) o.min_p = opts->min_p;
      if (MIXCON_COVERS(opts, T, repetition_penalty)) o.repetition_penalty = opts->repetition_penalty;
      if (MIXCON_COVERS(opts, T, repetition_window)) o.repetition_window = opts->repetition_window;
      if (MIXCON_COVERS(opts, T, seed)) o.seed = opts->seed;
    }
    mixcon::SamplerOptions so;
    so.temperature = o.temperature;
    so.top_k = o.top_k;
    so.top_p = o.top_p;
    so.min_p = o.min_p;
    so.repetition_penalty = o.repetition_penalty;
    so.repetition_window = o.repetition_window;
    so.seed = static_cast<uint64_t>(o.seed);  // the 64 bits, as documented
    *out_sampler = new mixcon_sampler(so);
  });
}

MIXCON_API void mixcon_sampler_free(mixcon_sampler* sampler) { delete sampler; }

}  // extern "C"
