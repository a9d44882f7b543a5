// The engine against a plain float64 implementation of MODEL.md
// (model_test_util.h Reference), on random tiny models of every variant:
// every logits row, by decode (one token at a time) and by prefill (one call,
// all_logits). Tolerance: MODEL.md §5's relative 1e-4 of the row's largest
// logit, for every dtype — the reference reads the weights as stored, so the
// only difference left is float32 arithmetic.
#include <gtest/gtest.h>

#include <cstdio>

#include "model_test_util.h"

namespace mixcon {
namespace {

using testutil::Variant;

class ReferenceTest : public ::testing::TestWithParam<Variant> {};

TEST_P(ReferenceTest, DecodeAndPrefillMatchFloat64Reference) {
  const Variant& v = GetParam();
  const std::vector<uint8_t> bytes = testutil::model_bytes(testutil::variant_config(v), v.dtype, 7);
  auto model = testutil::load_model(bytes, 2);
  const int64_t V = model->config().vocab_size;
  const int64_t T = 40;
  const std::vector<int32_t> toks = testutil::random_tokens(T, V, 3);

  testutil::Reference ref(model->file());
  std::vector<std::vector<double>> want;
  for (int32_t t : toks) want.push_back(ref.step(t));

  Session dec(model, SessionOptions{});
  Session pre(model, SessionOptions{});
  std::vector<float> all(static_cast<size_t>(T * V));
  pre.feed(toks.data(), T, nullptr, all.data());
  double worst = 0;
  for (int64_t i = 0; i < T; ++i) {
    dec.feed(&toks[size_t(i)], 1);
    double mx = 0, d_dec = 0, d_pre = 0;
    for (int64_t j = 0; j < V; ++j) {
      const double w = want[size_t(i)][size_t(j)];
      mx = std::max(mx, std::fabs(w));
      d_dec = std::max(d_dec, std::fabs(double(dec.logits()[j]) - w));
      d_pre = std::max(d_pre, std::fabs(double(all[size_t(i * V + j)]) - w));
    }
    ASSERT_GT(mx, 0.0);
    worst = std::max(worst, std::max(d_dec, d_pre) / mx);
    ASSERT_LE(d_dec, 1e-4 * mx) << v.name << " decode row " << i;
    ASSERT_LE(d_pre, 1e-4 * mx) << v.name << " prefill row " << i;
  }
  RecordProperty("worst_relative_error", std::to_string(worst));
  std::printf("  %s: worst |engine - float64| / max|row| = %.3g\n", v.name.c_str(), worst);
}

INSTANTIATE_TEST_SUITE_P(Variants, ReferenceTest, ::testing::ValuesIn(testutil::all_variants()),
                         [](const ::testing::TestParamInfo<Variant>& i) { return i.param.name; });

}  // namespace
}  // namespace mixcon
