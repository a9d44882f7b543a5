// A KV cache in f16, bf16 or q8_0 (SessionOptions::kv_dtype): less memory,
// logits close to the f32 cache's, prefill == steps, thread counts agree
// bitwise, states save in the session's KV dtype and load into a session of
// any KV dtype (widening exact, narrowing rounded), version-1 states (f32
// KV, no dtype field) still load, and a bad dtype is refused. The models
// have heads of 32 (a q8_0 row is whole 32-value blocks).
#include <gtest/gtest.h>
#include <xxhash.h>

#include <cstring>

#include "core/common/status.h"
#include "core/session/workspace.h"
#include "model_test_util.h"

namespace mixcon {
namespace {

using testutil::Variant;

// Rounding each key and value once (f16: 2^-11 relative, bf16: 2^-8, q8_0:
// half a step of its block's max/127) moves the logits of these random
// models by at most these fractions of the row's largest |logit| (measured:
// f16 ≈ 8e-5, bf16 ≈ 5e-4, q8_0 ≈ 1.7e-3; the bounds leave ~6-12x).
double narrow_tolerance(DType t) {
  return t == DType::F16 ? 5e-4 : t == DType::BF16 ? 5e-3 : 2e-2;
}

// Heads of 32, which every cache type takes.
Variant head32(Variant v) {
  v.head_dim = 32;
  return v;
}
Variant kv_variant() { return head32(testutil::all_variants()[0]); }

// A small prefill chunk, so that short feeds cross its boundary.
constexpr int64_t kChunk = 64;

SessionOptions with_kv(DType t, int n_threads = 0) {
  SessionOptions o;
  o.kv_dtype = t;
  o.n_threads = n_threads;
  o.prefill_chunk = kChunk;
  return o;
}

double rel_diff(const float* a, const float* b, int64_t V) {
  return testutil::max_abs_diff(a, b, V) / std::max(testutil::max_abs(b, V), 1e-30);
}

// Variants with attention layers of different shapes (grouped, multi-head,
// RoPE) and weight dtypes.
std::vector<Variant> attention_variants() {
  std::vector<Variant> out;
  for (const Variant& v : testutil::all_variants())
    if (v.name == "f32" || v.name == "q8_0" || v.name == "rope" || v.name == "edges")
      out.push_back(head32(v));
  return out;
}

class KvCacheDtypeTest : public ::testing::TestWithParam<DType> {};

TEST_P(KvCacheDtypeTest, LogitsStayCloseToTheF32Cache) {
  const DType kv = GetParam();
  for (const Variant& v : attention_variants()) {
    SCOPED_TRACE(v.name);
    auto model = testutil::make_model(v, 21, 1);
    const int64_t V = model->config().vocab_size;
    const int64_t T = 150;
    const auto toks = testutil::random_tokens(T, V, 4);
    Session exact(model, {}), narrow(model, with_kv(kv));
    std::vector<float> a(size_t(T * V)), b(size_t(T * V));
    exact.feed(toks.data(), T, nullptr, a.data());
    narrow.feed(toks.data(), T, nullptr, b.data());
    double worst = 0;
    for (int64_t i = 0; i < T; ++i)
      worst = std::max(worst, rel_diff(&b[size_t(i * V)], &a[size_t(i * V)], V));
    std::printf("  %-6s kv %s: worst |diff|/max|row| vs f32 cache = %.3g\n", v.name.c_str(),
                dtype_name(kv), worst);
    EXPECT_LE(worst, narrow_tolerance(kv));
    EXPECT_GT(worst, 0.0) << "the cache was not narrowed";
  }
}

TEST_P(KvCacheDtypeTest, PrefillEqualsStepsAndThreadCountsAgreeBitwise) {
  const DType kv = GetParam();
  for (const Variant& v : attention_variants()) {
    SCOPED_TRACE(v.name);
    auto model = testutil::make_model(v, 22, 1);
    const int64_t V = model->config().vocab_size;
    const int64_t T = kChunk * 2 + 5;
    const auto toks = testutil::random_tokens(T, V, 6);
    Session steps(model, with_kv(kv, 1)), once(model, with_kv(kv, 1)), twice(model, with_kv(kv, 2));
    std::vector<float> all1(size_t(T * V)), all2(size_t(T * V));
    once.feed(toks.data(), T, nullptr, all1.data());
    twice.feed(toks.data(), T, nullptr, all2.data());
    EXPECT_EQ(0, std::memcmp(all1.data(), all2.data(), all1.size() * sizeof(float)));
    EXPECT_EQ(testutil::state_of(once), testutil::state_of(twice));
    for (int64_t i = 0; i < T; ++i) {
      steps.feed(&toks[size_t(i)], 1);
      // A key computed by the prefill GEMM and by the decode matvec may differ
      // in its last f32 bit and so round to neighbouring f16 values: the
      // same bound as the cache's own rounding.
      ASSERT_LE(rel_diff(steps.logits(), &all1[size_t(i * V)], V), narrow_tolerance(kv))
          << "row " << i;
    }
  }
}

TEST_P(KvCacheDtypeTest, ShrinksTheCacheAndTheStatesKvBytes) {
  const DType kv = GetParam();
  auto model = testutil::make_model(kv_variant(), 23, 1, 256);
  const ModelConfig& c = model->config();
  const int64_t hd = c.attention.head_dim, H = c.attention.n_kv_heads;
  // Bytes saved per token and head: f16/bf16 half of f32's, q8_0 4·hd - 34·hd/32.
  const int64_t saved = H * (4 * hd - dtype_row_bytes(kv, hd));
  const int64_t n_attn = c.count_layers(LayerType::Attention);
  ASSERT_GT(n_attn, 0);
  Session exact(model, with_kv(DType::F32)), narrow(model, with_kv(kv));
  EXPECT_EQ(narrow.kv_dtype(), kv);
  EXPECT_EQ(exact.memory_bytes() - narrow.memory_bytes(), 2 * n_attn * 256 * saved);
  const auto toks = testutil::random_tokens(40, c.vocab_size, 2);
  exact.feed(toks.data(), 40);
  narrow.feed(toks.data(), 40);
  EXPECT_EQ(exact.state_size() - narrow.state_size(), 2 * n_attn * 40 * saved);
}

TEST_P(KvCacheDtypeTest, StateRoundTripsAndForksInTheSameDtype) {
  const DType kv = GetParam();
  auto model = testutil::make_model(kv_variant(), 24, 1);
  const int64_t V = model->config().vocab_size;
  const auto toks = testutil::random_tokens(60, V, 8);
  Session a(model, with_kv(kv)), b(model, with_kv(kv));
  a.feed(toks.data(), 50);
  const auto saved = testutil::state_of(a);
  b.load_state(saved.data(), int64_t(saved.size()));
  EXPECT_EQ(testutil::state_of(b), saved);
  auto c = a.fork();
  EXPECT_EQ(c->kv_dtype(), kv);
  a.feed(toks.data() + 50, 10);
  b.feed(toks.data() + 50, 10);
  c->feed(toks.data() + 50, 10);
  EXPECT_EQ(0, std::memcmp(a.logits(), b.logits(), size_t(V) * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(a.logits(), c->logits(), size_t(V) * sizeof(float)));
}

TEST_P(KvCacheDtypeTest, StatesConvertBetweenKvDtypes) {
  const DType kv = GetParam();
  auto model = testutil::make_model(kv_variant(), 25, 1);
  const int64_t V = model->config().vocab_size;
  const auto toks = testutil::random_tokens(70, V, 9);

  // Narrow → f32 widens exactly: saving the f32 session and loading that
  // into a narrow session gives back the original bytes.
  Session narrow(model, with_kv(kv)), wide(model, {}), back(model, with_kv(kv));
  narrow.feed(toks.data(), 60);
  const auto n_state = testutil::state_of(narrow);
  wide.load_state(n_state.data(), int64_t(n_state.size()));
  EXPECT_EQ(wide.position(), 60);
  const auto w_state = testutil::state_of(wide);
  EXPECT_GT(w_state.size(), n_state.size());
  back.load_state(w_state.data(), int64_t(w_state.size()));
  EXPECT_EQ(testutil::state_of(back), n_state);
  // The widened session continues like the narrow one up to the new token's
  // own rounding.
  wide.feed(toks.data() + 60, 1);
  narrow.feed(toks.data() + 60, 1);
  EXPECT_LE(rel_diff(wide.logits(), narrow.logits(), V), narrow_tolerance(kv));

  // f32 → narrow rounds: the result equals a narrow session fed the same
  // tokens within the cache's rounding, and keeps the position and history.
  Session exact(model, {}), converted(model, with_kv(kv));
  exact.feed(toks.data(), 60);
  const auto e_state = testutil::state_of(exact);
  converted.load_state(e_state.data(), int64_t(e_state.size()));
  EXPECT_EQ(converted.position(), 60);
  EXPECT_EQ(0, std::memcmp(converted.tokens(), toks.data(), 60 * sizeof(int32_t)));
  converted.feed(toks.data() + 60, 1);
  exact.feed(toks.data() + 60, 1);
  EXPECT_LE(rel_diff(converted.logits(), exact.logits(), V), narrow_tolerance(kv));
}

INSTANTIATE_TEST_SUITE_P(Narrow, KvCacheDtypeTest, ::testing::Values(DType::F16, DType::BF16, DType::Q8_0),
                         [](const ::testing::TestParamInfo<DType>& i) {
                           return std::string(dtype_name(i.param));
                         });

// Rewrites a state's checksum after an edit.
void reseal(std::vector<uint8_t>& s) {
  const uint64_t h = XXH64(s.data(), s.size() - 8, 0);
  std::memcpy(s.data() + s.size() - 8, &h, 8);
}

TEST(KvCacheDtype, VersionOneStatesStillLoad) {
  auto model = testutil::make_model(testutil::all_variants()[0], 26, 1);
  const int64_t V = model->config().vocab_size;
  const auto toks = testutil::random_tokens(31, V, 3);
  Session a(model, {});
  a.feed(toks.data(), 30);
  auto v2 = testutil::state_of(a);
  uint32_t version = 0, dtype = 99;
  std::memcpy(&version, v2.data() + 4, 4);
  std::memcpy(&dtype, v2.data() + 24, 4);
  ASSERT_EQ(version, 2u);
  ASSERT_EQ(dtype, 0u);
  // Version 1: no KV dtype field, and each layer's K and V token-major
  // ([P][H·hd]) where version 2 is head-major ([H][P][hd]).
  const ModelConfig& c = model->config();
  const int64_t P = 30, H = c.attention.n_kv_heads, hd = c.attention.head_dim;
  const size_t kv_at = 28 + size_t(P) * 4, block = size_t(P * H * hd) * 4;
  std::vector<uint8_t> v1(v2.begin(), v2.begin() + 24);
  v1.insert(v1.end(), v2.begin() + 28, v2.end());
  uint8_t* kv1 = v1.data() + kv_at - 4;
  for (int64_t b = 0; b < 2 * c.count_layers(LayerType::Attention); ++b)
    for (int64_t g = 0; g < H; ++g)
      for (int64_t i = 0; i < P; ++i)
        std::memcpy(kv1 + b * block + size_t((i * H + g) * hd) * 4,
                    v2.data() + kv_at + b * block + size_t((g * P + i) * hd) * 4, size_t(hd) * 4);
  ASSERT_GT(H, 1) << "one KV head: the layouts would not differ";
  version = 1;
  std::memcpy(v1.data() + 4, &version, 4);
  reseal(v1);
  for (DType kv : {DType::F32, DType::F16}) {
    Session b(model, with_kv(kv));
    ASSERT_NO_THROW(b.load_state(v1.data(), int64_t(v1.size())));
    EXPECT_EQ(b.position(), 30);
    if (kv == DType::F32) EXPECT_EQ(testutil::state_of(b), v2);
  }
}

TEST(KvCacheDtype, AStateWithAnUnknownKvDtypeIsRejected) {
  auto model = testutil::make_model(testutil::all_variants()[0], 27, 1);
  const auto toks = testutil::random_tokens(5, model->config().vocab_size, 3);
  Session a(model, {});
  a.feed(toks.data(), 5);
  // 3 (q8_0) is no cache type of this model: its heads of 16 are not whole
  // q8_0 blocks.
  ASSERT_EQ(model->config().attention.head_dim, 16);
  for (uint32_t bad : {3u, 4u, 0xffffffffu}) {
    auto s = testutil::state_of(a);
    std::memcpy(s.data() + 24, &bad, 4);
    reseal(s);
    Session b(model, {});
    try {
      b.load_state(s.data(), int64_t(s.size()));
      ADD_FAILURE() << "KV dtype " << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), Status::Format);
      EXPECT_NE(std::string(e.what()).find("KV dtype"), std::string::npos) << e.what();
    }
    EXPECT_EQ(b.position(), 0);
  }
}

// q8_0 rows are whole 32-value blocks: heads of 16 cannot hold one.
TEST(KvCacheDtype, Q8CacheNeedsHeadsOfWholeBlocks) {
  auto model = testutil::make_model(testutil::all_variants()[0], 28, 1);
  try {
    Session s(model, with_kv(DType::Q8_0));
    ADD_FAILURE() << "a q8_0 KV cache with heads of 16 was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::Unsupported);
    EXPECT_NE(std::string(e.what()).find("head_dim"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(Session(testutil::make_model(kv_variant(), 28, 1), with_kv(DType::Q8_0)));
}

}  // namespace
}  // namespace mixcon
