// The sampler (core/sampling): greedy, each filter against a brute-force
// reference distribution, the repetition penalty, determinism.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <vector>

#include "core/common/status.h"
#include "core/sampling/sampler.h"

namespace mixcon {
namespace {

std::vector<float> test_logits() {
  return {1.0f, 2.5f, -0.5f, 2.5f, 0.3f, 1.7f, -2.0f, 0.9f, 2.2f, -1.0f};
}

// The reference: probabilities of every token under `o` (no penalty), by the
// definitions in mixcon.h, computed the slow and obvious way.
std::vector<double> reference(const std::vector<float>& logits, const SamplerOptions& o) {
  const size_t n = logits.size();
  std::vector<double> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<double>(logits[i]) / o.temperature;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] > x[b]; });
  std::vector<bool> keep(n, true);
  if (o.top_k > 0)
    for (size_t r = static_cast<size_t>(o.top_k); r < n; ++r) keep[order[r]] = false;
  auto probs = [&] {
    double m = -INFINITY, z = 0;
    for (size_t i = 0; i < n; ++i) if (keep[i]) m = std::max(m, x[i]);
    std::vector<double> p(n, 0.0);
    for (size_t i = 0; i < n; ++i) if (keep[i]) z += (p[i] = std::exp(x[i] - m));
    for (double& v : p) v /= z;
    return p;
  };
  if (o.top_p < 1.0f) {
    const auto p = probs();
    double cum = 0;
    bool reached = false;
    for (size_t r = 0; r < n; ++r) {
      const size_t i = order[r];
      if (!keep[i]) continue;
      if (reached) keep[i] = false;
      cum += p[i];
      if (cum >= o.top_p - 1e-12) reached = true;
    }
  }
  if (o.min_p > 0.0f) {
    const auto p = probs();
    const double top = *std::max_element(p.begin(), p.end());
    for (size_t i = 0; i < n; ++i) if (p[i] < o.min_p * top) keep[i] = false;
  }
  return probs();
}

// Draw many times and compare frequencies with the reference: a token the
// reference excludes must never appear, the rest within 1.5 points.
void expect_matches_reference(const SamplerOptions& o) {
  const auto logits = test_logits();
  const auto ref = reference(logits, o);
  Sampler s(o);
  const int draws = 40000;
  std::vector<int> count(logits.size(), 0);
  for (int i = 0; i < draws; ++i)
    ++count[s.sample(logits.data(), static_cast<int64_t>(logits.size()), nullptr, 0)];
  for (size_t i = 0; i < logits.size(); ++i) {
    if (ref[i] == 0.0) {
      EXPECT_EQ(count[i], 0) << "token " << i << " is filtered out but was drawn";
    } else {
      EXPECT_NEAR(count[i] / double(draws), ref[i], 0.015) << "token " << i;
    }
  }
}

SamplerOptions plain(float temperature) {
  SamplerOptions o;
  o.temperature = temperature;
  o.top_k = 0;
  o.top_p = 1.0f;
  o.min_p = 0.0f;
  o.repetition_penalty = 1.0f;
  o.seed = 1234;
  return o;
}

TEST(Sampler, GreedyTakesTheLargestLogitLowestIdOnTies) {
  Sampler s(plain(0.0f));
  const auto logits = test_logits();  // 2.5 at ids 1 and 3
  for (int i = 0; i < 5; ++i) EXPECT_EQ(s.sample(logits.data(), 10, nullptr, 0), 1);
  const float single[] = {-3.0f};
  EXPECT_EQ(s.sample(single, 1, nullptr, 0), 0);
}

TEST(Sampler, GreedyDoesNotUseTheRandomState) {
  Sampler s(plain(0.0f));
  const auto before = s.rng_state();
  const auto logits = test_logits();
  s.sample(logits.data(), 10, nullptr, 0);
  const auto after = s.rng_state();
  EXPECT_TRUE(std::equal(std::begin(before.s), std::end(before.s), std::begin(after.s)));
}

TEST(Sampler, TemperatureMatchesSoftmax) { expect_matches_reference(plain(0.7f)); }
TEST(Sampler, HighTemperatureMatchesSoftmax) { expect_matches_reference(plain(2.0f)); }

TEST(Sampler, TopKKeepsTheKLargest) {
  auto o = plain(1.0f);
  o.top_k = 3;  // 2.5, 2.5, 2.2: ids 1, 3, 8
  expect_matches_reference(o);
  o.top_k = 1;  // only id 1 (lower id of the tie)
  const auto ref = reference(test_logits(), o);
  EXPECT_EQ(ref[1], 1.0);
  expect_matches_reference(o);
}

TEST(Sampler, TopPKeepsTheSmallestPrefixReachingP) {
  auto o = plain(1.0f);
  o.top_p = 0.6f;
  expect_matches_reference(o);
  o.top_p = 0.05f;  // less than the top token alone: one token stays
  expect_matches_reference(o);
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
  auto o = plain(1.0f);
  o.min_p = 0.3f;
  expect_matches_reference(o);
}

TEST(Sampler, FiltersCombine) {
  auto o = plain(1.3f);
  o.top_k = 6;
  o.top_p = 0.9f;
  o.min_p = 0.1f;
  expect_matches_reference(o);
}

TEST(Sampler, SameSeedSameTokensOtherSeedOtherTokens) {
  auto o = plain(1.0f);
  const auto logits = test_logits();
  auto run = [&](uint64_t seed) {
    o.seed = seed;
    Sampler s(o);
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) out.push_back(s.sample(logits.data(), 10, nullptr, 0));
    return out;
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

TEST(Sampler, RandomStateCanBeRestored) {
  Sampler s(plain(1.0f));
  const auto logits = test_logits();
  const auto st = s.rng_state();
  std::vector<int32_t> a, b;
  for (int i = 0; i < 32; ++i) a.push_back(s.sample(logits.data(), 10, nullptr, 0));
  s.set_rng_state(st);
  for (int i = 0; i < 32; ++i) b.push_back(s.sample(logits.data(), 10, nullptr, 0));
  EXPECT_EQ(a, b);
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegative) {
  auto o = plain(0.0f);
  o.repetition_penalty = 1.5f;
  o.repetition_window = 64;
  {
    Sampler s(o);
    const float l[] = {2.0f, 1.9f, -1.0f};
    const int32_t h[] = {0};
    EXPECT_EQ(s.sample(l, 3, nullptr, 0), 0);
    EXPECT_EQ(s.sample(l, 3, h, 1), 1);  // 2.0 / 1.5 < 1.9
  }
  {
    Sampler s(o);
    const float l[] = {-1.0f, -1.2f};
    const int32_t h[] = {0};
    EXPECT_EQ(s.sample(l, 2, h, 1), 1);  // -1.0 * 1.5 < -1.2
  }
}

TEST(Sampler, RepetitionPenaltyCountsEachTokenOnce) {
  auto o = plain(0.0f);
  o.repetition_penalty = 2.0f;
  Sampler s(o);
  const float l[] = {2.0f, 0.9f};
  const int32_t h[] = {0, 0, 0};
  EXPECT_EQ(s.sample(l, 2, h, 3), 0);  // 2.0 / 2 = 1.0 > 0.9, not 2.0 / 8
}

TEST(Sampler, RepetitionWindowLooksBackOnlyThatFar) {
  auto o = plain(0.0f);
  o.repetition_penalty = 1.5f;
  const float l[] = {2.0f, 1.9f, 0.0f};
  const int32_t h[] = {0, 2, 2};
  o.repetition_window = 2;  // sees {2, 2}: token 0 keeps 2.0
  EXPECT_EQ(Sampler(o).sample(l, 3, h, 3), 0);
  o.repetition_window = 3;  // sees token 0
  EXPECT_EQ(Sampler(o).sample(l, 3, h, 3), 1);
  o.repetition_window = -1;  // whole history
  EXPECT_EQ(Sampler(o).sample(l, 3, h, 3), 1);
  o.repetition_window = 0;  // off
  EXPECT_EQ(Sampler(o).sample(l, 3, h, 3), 0);
}

TEST(Sampler, PenaltyLeavesNoTraceForTheNextCall) {
  auto o = plain(0.0f);
  o.repetition_penalty = 1.5f;
  Sampler s(o);
  const float l[] = {2.0f, 1.9f};
  const int32_t h[] = {0, 0};
  EXPECT_EQ(s.sample(l, 2, h, 2), 1);
  EXPECT_EQ(s.sample(l, 2, nullptr, 0), 0);
}

TEST(Sampler, ExtremeLogits) {
  const float inf = std::numeric_limits<float>::infinity();
  Sampler s(plain(1.0f));
  const float all_masked[] = {-inf, -inf, -inf};
  EXPECT_EQ(s.sample(all_masked, 3, nullptr, 0), 0);
  const float one_masked_in[] = {-inf, 0.5f, -inf};
  for (int i = 0; i < 20; ++i) EXPECT_EQ(s.sample(one_masked_in, 3, nullptr, 0), 1);
  const float plus_inf[] = {1.0f, inf, 3.0f};
  EXPECT_EQ(s.sample(plus_inf, 3, nullptr, 0), 1);
  // A tiny temperature must not overflow into NaN: it acts as greedy.
  Sampler cold(plain(1e-30f));
  auto logits = test_logits();
  logits[3] = 2.4f;  // no tie at the top
  for (int i = 0; i < 20; ++i) EXPECT_EQ(cold.sample(logits.data(), 10, nullptr, 0), 1);
}

TEST(Sampler, NanLogitIsAnError) {
  Sampler s(plain(1.0f));
  const float l[] = {0.0f, std::nanf(""), 1.0f};
  try {
    s.sample(l, 3, nullptr, 0);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::Internal);
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos);
  }
}

TEST(Sampler, OptionsOutOfRangeAreRejected) {
  const auto rejects = [](SamplerOptions o) {
    try {
      Sampler s(o);
    } catch (const Error& e) {
      return e.status() == Status::InvalidArgument;
    }
    return false;
  };
  SamplerOptions o;
  EXPECT_FALSE(rejects(o));
  o = SamplerOptions(); o.temperature = -0.1f; EXPECT_TRUE(rejects(o));
  o = SamplerOptions(); o.temperature = std::nanf(""); EXPECT_TRUE(rejects(o));
  o = SamplerOptions(); o.top_k = -1; EXPECT_TRUE(rejects(o));
  o = SamplerOptions(); o.top_p = 0.0f; EXPECT_TRUE(rejects(o));
  o = SamplerOptions(); o.top_p = 1.5f; EXPECT_TRUE(rejects(o));
  o = SamplerOptions(); o.min_p = -0.5f; EXPECT_TRUE(rejects(o));
  o = SamplerOptions(); o.min_p = 1.01f; EXPECT_TRUE(rejects(o));
  o = SamplerOptions(); o.repetition_penalty = 0.0f; EXPECT_TRUE(rejects(o));
  o = SamplerOptions(); o.repetition_window = -2; EXPECT_TRUE(rejects(o));
}

TEST(Sampler, LargeVocabularyTopKDeterministic) {
  // A vocabulary-sized row, as in a real model: same seed, same tokens.
  std::vector<float> logits(32000);
  for (size_t i = 0; i < logits.size(); ++i)
    logits[i] = static_cast<float>(std::sin(i * 0.37) * 4.0);
  SamplerOptions o;  // the defaults: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05
  o.seed = 99;
  Sampler a(o), b(o);
  for (int i = 0; i < 50; ++i) {
    const int32_t ta = a.sample(logits.data(), 32000, nullptr, 0);
    EXPECT_EQ(ta, b.sample(logits.data(), 32000, nullptr, 0));
    // top-k 40: the token is among the 40 largest logits.
    int larger = 0;
    for (float v : logits) larger += v > logits[ta];
    EXPECT_LT(larger, 40);
  }
}

}  // namespace
}  // namespace mixcon
