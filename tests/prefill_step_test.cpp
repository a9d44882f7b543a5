// MODEL.md §5: feeding tokens at once (prefill) gives the same logits and the
// same session state as feeding them one at a time, for every variant, any
// chunking of the calls, across the workspace's internal chunk boundary; the
// position counts every token across calls; 1 and 2 threads agree bitwise,
// and so do sessions with different prefill chunk sizes.
#include <gtest/gtest.h>

#include "core/common/status.h"
#include "core/session/workspace.h"
#include "model_test_util.h"

namespace mixcon {
namespace {

using testutil::Variant;

// Relative tolerance of MODEL.md §5 for the logits; the states (KV rows, Conba
// windows, h, gains) are compared element-wise with the same relative bound.
constexpr double kRel = 1e-4;

// A small prefill chunk, so that short feeds cross the workspace's internal
// chunk boundary.
constexpr int64_t kChunk = 64;
SessionOptions chunked(int64_t chunk = kChunk, int n_threads = 0) {
  SessionOptions o;
  o.prefill_chunk = chunk;
  o.n_threads = n_threads;
  return o;
}

void expect_logits_close(const float* a, const float* b, int64_t V, const std::string& what) {
  const double mx = std::max(testutil::max_abs(b, V), 1e-30);
  EXPECT_LE(testutil::max_abs_diff(a, b, V), kRel * mx) << what;
}

// Header and token history must be equal; the float body (KV rows, Conba
// state) and the logits close. Both states have logits (after a feed).
void expect_states_close(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b,
                         int64_t position, int64_t V, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  const size_t head = 28 + size_t(position) * 4;  // header (MXST v2) + history
  ASSERT_EQ(0, std::memcmp(a.data(), b.data(), head)) << what << ": header/tokens";
  const size_t logits_at = a.size() - 8 - size_t(V) * 4;
  const size_t flag_at = logits_at - 1;
  ASSERT_EQ(a[flag_at], 1) << what;
  ASSERT_EQ(b[flag_at], 1) << what;
  auto floats = [](const std::vector<uint8_t>& v, size_t from, size_t to) {
    std::vector<float> f((to - from) / 4);
    std::memcpy(f.data(), v.data() + from, f.size() * 4);
    return f;
  };
  const std::vector<float> fa = floats(a, head, flag_at), fb = floats(b, head, flag_at);
  double mx = 0, diff = 0;
  for (size_t i = 0; i < fa.size(); ++i) {
    mx = std::max(mx, std::fabs(double(fb[i])));
    diff = std::max(diff, std::fabs(double(fa[i]) - double(fb[i])));
  }
  EXPECT_LE(diff, kRel * std::max(mx, 1.0)) << what << ": state values";
  const std::vector<float> la = floats(a, logits_at, a.size() - 8), lb = floats(b, logits_at, b.size() - 8);
  expect_logits_close(la.data(), lb.data(), V, what + ": saved logits");
}

class PrefillStepTest : public ::testing::TestWithParam<Variant> {};

TEST_P(PrefillStepTest, PrefillEqualsSteps) {
  const Variant& v = GetParam();
  auto model = testutil::make_model(v, 11, 1);
  const int64_t V = model->config().vocab_size;
  // Longer than the workspace chunk, so the prefill crosses its boundary.
  const int64_t T = kChunk * 2 + 13;
  const std::vector<int32_t> toks = testutil::random_tokens(T, V, 5);

  Session steps(model, {});
  std::vector<float> step_logits(size_t(T * V));
  for (int64_t i = 0; i < T; ++i) {
    steps.feed(&toks[size_t(i)], 1);
    std::memcpy(&step_logits[size_t(i * V)], steps.logits(), size_t(V) * sizeof(float));
  }

  Session once(model, chunked());
  EXPECT_EQ(once.prefill_chunk(), kChunk);
  std::vector<float> all(size_t(T * V));
  once.feed(toks.data(), T, nullptr, all.data());
  EXPECT_EQ(once.position(), T);
  for (int64_t i = 0; i < T; ++i)
    expect_logits_close(&all[size_t(i * V)], &step_logits[size_t(i * V)], V,
                        v.name + " row " + std::to_string(i));
  expect_logits_close(once.logits(), steps.logits(), V, v.name + " last logits");
  expect_states_close(testutil::state_of(once), testutil::state_of(steps), T, V, v.name);

  // Pieces of 1, 3, 7, ... (sizes wrap to fit), with and without all_logits.
  Session pieces(model, chunked());
  const int64_t sizes[] = {1, 3, 7, 2, 11, 64, 5, 1, 65};
  int64_t done = 0;
  for (int k = 0; done < T; ++k) {
    const int64_t m = std::min(sizes[k % 9], T - done);
    if (k % 2 == 0) {
      std::vector<float> part(size_t(m * V));
      pieces.feed(&toks[size_t(done)], m, nullptr, part.data());
      for (int64_t i = 0; i < m; ++i)
        expect_logits_close(&part[size_t(i * V)], &step_logits[size_t((done + i) * V)], V,
                            v.name + " piece row " + std::to_string(done + i));
    } else {
      pieces.feed(&toks[size_t(done)], m);
    }
    done += m;
    EXPECT_EQ(pieces.position(), done);
    expect_logits_close(pieces.logits(), &step_logits[size_t((done - 1) * V)], V,
                        v.name + " piece last " + std::to_string(done));
  }
  expect_states_close(testutil::state_of(pieces), testutil::state_of(steps), T, V, v.name + " pieces");
  EXPECT_EQ(0, std::memcmp(pieces.tokens(), toks.data(), toks.size() * sizeof(int32_t)));
}

TEST_P(PrefillStepTest, OneAndTwoThreadsAgreeBitwise) {
  const Variant& v = GetParam();
  auto model = testutil::make_model(v, 12, 1);
  const int64_t V = model->config().vocab_size;
  const int64_t T = 70;
  const std::vector<int32_t> toks = testutil::random_tokens(T, V, 9);
  SessionOptions o1, o2;
  o1.n_threads = 1;
  o2.n_threads = 2;
  Session s1(model, o1), s2(model, o2);
  std::vector<float> a1(size_t(T * V)), a2(size_t(T * V));
  s1.feed(toks.data(), T, nullptr, a1.data());
  s2.feed(toks.data(), T, nullptr, a2.data());
  EXPECT_EQ(0, std::memcmp(a1.data(), a2.data(), a1.size() * sizeof(float))) << v.name;
  for (int i = 0; i < 5; ++i) {
    const int32_t t = toks[size_t(i)];
    s1.feed(&t, 1);
    s2.feed(&t, 1);
    EXPECT_EQ(0, std::memcmp(s1.logits(), s2.logits(), size_t(V) * sizeof(float))) << v.name;
  }
  EXPECT_EQ(testutil::state_of(s1), testutil::state_of(s2)) << v.name;
}

// Every op computes a token's values the same way whichever rows share its
// pass, so the chunk size changes no bit — except where a pass hands a MoE
// expert a single token: that product takes the matrix-vector (decode)
// kernel, which rounds in another order. Chunks of 64 never do that here
// (bitwise); chunks of 5 do (MODEL.md §5's tolerance).
TEST_P(PrefillStepTest, ChunkSizeChangesNoBit) {
  const Variant& v = GetParam();
  auto model = testutil::make_model(v, 13, 1);
  const int64_t V = model->config().vocab_size;
  const int64_t T = 143;  // 28 x 5 + 3, 2 x 64 + 15, 1 x 143
  const std::vector<int32_t> toks = testutil::random_tokens(T, V, 4);
  std::vector<float> want(size_t(T * V));
  Session whole(model, {});
  EXPECT_EQ(whole.prefill_chunk(), model->config().max_context);  // the default, clipped
  whole.feed(toks.data(), T, nullptr, want.data());
  for (int64_t chunk : {int64_t{5}, kChunk}) {
    Session s(model, chunked(chunk));
    std::vector<float> all(size_t(T * V));
    s.feed(toks.data(), T, nullptr, all.data());
    const std::string what = v.name + " chunk " + std::to_string(chunk);
    if (chunk == kChunk) {
      EXPECT_EQ(0, std::memcmp(all.data(), want.data(), all.size() * sizeof(float))) << what;
      EXPECT_EQ(testutil::state_of(s), testutil::state_of(whole)) << what;
    } else {
      for (int64_t i = 0; i < T; ++i)
        expect_logits_close(&all[size_t(i * V)], &want[size_t(i * V)], V, what + " row " + std::to_string(i));
      expect_states_close(testutil::state_of(s), testutil::state_of(whole), T, V, what);
    }
    EXPECT_LT(s.memory_bytes(), whole.memory_bytes()) << "a smaller chunk plans less workspace";
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, PrefillStepTest, ::testing::ValuesIn(testutil::all_variants()),
                         [](const ::testing::TestParamInfo<Variant>& i) { return i.param.name; });

TEST(PrefillStep, ChunkOptionIsCheckedAndClipped) {
  auto model = testutil::make_model(testutil::all_variants()[0], 3, 1);
  try {
    Session bad(model, chunked(-1));
    FAIL() << "a negative prefill_chunk was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("prefill_chunk"), std::string::npos) << e.what();
  }
  SessionOptions small = chunked(1000);
  small.max_context = 40;
  EXPECT_EQ(Session(model, small).prefill_chunk(), 40);
  EXPECT_EQ(Session(model, chunked(7)).prefill_chunk(), 7);
}

TEST(PrefillStep, PositionCountsAcrossCallsAndResets) {
  auto model = testutil::make_model(testutil::all_variants()[0], 3, 1);
  Session s(model, {});
  EXPECT_EQ(s.position(), 0);
  EXPECT_EQ(s.logits(), nullptr);
  const std::vector<int32_t> toks = testutil::random_tokens(20, s.n_vocab(), 1);
  s.feed(toks.data(), 5);
  s.feed(toks.data() + 5, 1);
  s.feed(toks.data() + 6, 14);
  EXPECT_EQ(s.position(), 20);
  std::vector<float> first(s.logits(), s.logits() + s.n_vocab());
  s.reset();
  EXPECT_EQ(s.position(), 0);
  EXPECT_EQ(s.logits(), nullptr);
  s.feed(toks.data(), 5);
  s.feed(toks.data() + 5, 1);
  s.feed(toks.data() + 6, 14);
  EXPECT_EQ(s.position(), 20);
  // After a reset the session is as new: the same calls give the same logits.
  EXPECT_EQ(0, std::memcmp(first.data(), s.logits(), first.size() * sizeof(float)));
}

}  // namespace
}  // namespace mixcon
