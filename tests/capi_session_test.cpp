// Sessions through the C ABI on a tiny-random model written to a file:
// feeding, logits, steps, state save/load, fork, a full context, cancel.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "capi_test_models.h"
#include "mixcon.h"

namespace {

class CapiSession : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { file_ = new capi_test::TempModel(capi_test::tiny_model(11, false), "session"); }
  static void TearDownTestSuite() {
    delete file_;
    file_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(mixcon_model_load(file_->path().c_str(), nullptr, &model_), MIXCON_OK)
        << mixcon_last_error();
    mixcon_sampler_options o;
    mixcon_sampler_options_init(&o);
    o.temperature = 0.0f;
    ASSERT_EQ(mixcon_sampler_create(&o, &greedy_), MIXCON_OK);
  }
  void TearDown() override {
    mixcon_sampler_free(greedy_);
    mixcon_model_free(model_);
  }

  mixcon_session* new_session(int64_t max_context = 0) {
    mixcon_session_options o;
    mixcon_session_options_init(&o);
    o.max_context = max_context;
    mixcon_session* s = nullptr;
    EXPECT_EQ(mixcon_session_create(model_, &o, &s), MIXCON_OK) << mixcon_last_error();
    return s;
  }
  static std::vector<float> logits_of(const mixcon_session* s) {
    const float* p = nullptr;
    int64_t n = 0;
    EXPECT_EQ(mixcon_session_logits(s, &p, &n), MIXCON_OK) << mixcon_last_error();
    return p ? std::vector<float>(p, p + n) : std::vector<float>();
  }
  static std::vector<int32_t> steps(mixcon_session* s, mixcon_sampler* sampler, int n) {
    std::vector<int32_t> out;
    for (int i = 0; i < n; ++i) {
      int32_t t = -1;
      EXPECT_EQ(mixcon_session_step(s, sampler, &t), MIXCON_OK) << mixcon_last_error();
      out.push_back(t);
    }
    return out;
  }
  static void expect_close(const std::vector<float>& a, const std::vector<float>& b) {
    ASSERT_EQ(a.size(), b.size());
    float scale = 0;
    for (float v : a) scale = std::max(scale, std::fabs(v));
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-4f * scale) << "logit " << i;
  }
  static std::vector<int32_t> prompt(int n, int salt = 0) {
    std::vector<int32_t> t;
    for (int i = 0; i < n; ++i) t.push_back((i * 37 + salt * 101 + 5) % 512);
    return t;
  }

  static capi_test::TempModel* file_;
  mixcon_model* model_ = nullptr;
  mixcon_sampler* greedy_ = nullptr;
};
capi_test::TempModel* CapiSession::file_ = nullptr;

TEST_F(CapiSession, PathAndMemoryLoadsAgree) {
  mixcon_model* m2 = nullptr;
  ASSERT_EQ(mixcon_model_load_memory(file_->bytes().data(),
                                     static_cast<int64_t>(file_->bytes().size()), nullptr, &m2),
            MIXCON_OK);
  mixcon_session* a = new_session();
  mixcon_session* b = nullptr;
  ASSERT_EQ(mixcon_session_create(m2, nullptr, &b), MIXCON_OK);
  mixcon_model_free(m2);
  const auto p = prompt(9);
  ASSERT_EQ(mixcon_session_feed(a, p.data(), 9), MIXCON_OK);
  ASSERT_EQ(mixcon_session_feed(b, p.data(), 9), MIXCON_OK);
  EXPECT_EQ(logits_of(a), logits_of(b));
  mixcon_session_free(a);
  mixcon_session_free(b);
}

TEST_F(CapiSession, PrefillEqualsOneTokenAtATime) {
  mixcon_session* chunk = new_session();
  mixcon_session* single = new_session();
  const auto p = prompt(24);
  std::vector<float> rows(24 * 512);
  ASSERT_EQ(mixcon_session_feed_all_logits(chunk, p.data(), 24, rows.data(),
                                           static_cast<int64_t>(rows.size())),
            MIXCON_OK)
      << mixcon_last_error();
  for (int i = 0; i < 24; ++i) {
    ASSERT_EQ(mixcon_session_feed(single, &p[i], 1), MIXCON_OK);
    expect_close(std::vector<float>(rows.begin() + i * 512, rows.begin() + (i + 1) * 512),
                 logits_of(single));
  }
  expect_close(logits_of(chunk), logits_of(single));
  EXPECT_EQ(mixcon_session_position(chunk), 24);
  EXPECT_EQ(steps(chunk, greedy_, 8), steps(single, greedy_, 8));
  mixcon_session_free(chunk);
  mixcon_session_free(single);
}

TEST_F(CapiSession, StepFeedsWhatSampleWouldPick) {
  mixcon_session* a = new_session();
  mixcon_session* b = new_session();
  const auto p = prompt(6);
  mixcon_session_feed(a, p.data(), 6);
  mixcon_session_feed(b, p.data(), 6);
  int32_t sampled = -1, stepped = -2;
  ASSERT_EQ(mixcon_session_sample(a, greedy_, &sampled), MIXCON_OK);
  EXPECT_EQ(mixcon_session_position(a), 6);
  ASSERT_EQ(mixcon_session_step(a, greedy_, &stepped), MIXCON_OK);
  EXPECT_EQ(sampled, stepped);
  EXPECT_EQ(mixcon_session_position(a), 7);
  ASSERT_EQ(mixcon_session_feed(b, &sampled, 1), MIXCON_OK);
  EXPECT_EQ(logits_of(a), logits_of(b));
  std::vector<int32_t> hist(7);
  int64_t n = 0;
  ASSERT_EQ(mixcon_session_tokens(a, hist.data(), 7, &n), MIXCON_OK);
  EXPECT_EQ(hist.back(), stepped);
  EXPECT_GT(mixcon_session_memory_bytes(a), 0);
  mixcon_session_free(a);
  mixcon_session_free(b);
}

TEST_F(CapiSession, SeededSamplingIsReproducible) {
  const auto run = [&](int64_t seed) {
    mixcon_sampler_options o;
    mixcon_sampler_options_init(&o);
    o.temperature = 1.2f;
    o.top_k = 0;
    o.top_p = 1.0f;
    o.min_p = 0.0f;
    o.seed = seed;
    mixcon_sampler* s = nullptr;
    EXPECT_EQ(mixcon_sampler_create(&o, &s), MIXCON_OK);
    mixcon_session* sess = new_session();
    const auto p = prompt(5);
    mixcon_session_feed(sess, p.data(), 5);
    auto out = steps(sess, s, 24);
    mixcon_session_free(sess);
    mixcon_sampler_free(s);
    return out;
  };
  EXPECT_EQ(run(1), run(1));
  EXPECT_EQ(run(-5), run(-5));
  EXPECT_NE(run(1), run(2));
}

TEST_F(CapiSession, StateSaveLoadContinuesExactly) {
  mixcon_session* a = new_session();
  const auto p = prompt(13);
  ASSERT_EQ(mixcon_session_feed(a, p.data(), 13), MIXCON_OK);
  steps(a, greedy_, 3);
  std::vector<uint8_t> state(static_cast<size_t>(mixcon_session_state_size(a)));
  int64_t n = 0;
  ASSERT_EQ(mixcon_session_state_save(a, state.data(), static_cast<int64_t>(state.size()), &n),
            MIXCON_OK);
  const auto uninterrupted = steps(a, greedy_, 10);

  mixcon_session* b = new_session();
  const auto other = prompt(4, 3);
  mixcon_session_feed(b, other.data(), 4);  // some unrelated state to replace
  ASSERT_EQ(mixcon_session_state_load(b, state.data(), n), MIXCON_OK) << mixcon_last_error();
  EXPECT_EQ(mixcon_session_position(b), 16);
  EXPECT_EQ(steps(b, greedy_, 10), uninterrupted);
  mixcon_session_free(a);
  mixcon_session_free(b);
}

TEST_F(CapiSession, StateOfAnotherModelIsRejected) {
  capi_test::TempModel other(capi_test::tiny_model(12, false), "other");
  mixcon_model* m2 = nullptr;
  ASSERT_EQ(mixcon_model_load(other.path().c_str(), nullptr, &m2), MIXCON_OK);
  mixcon_session* foreign = nullptr;
  ASSERT_EQ(mixcon_session_create(m2, nullptr, &foreign), MIXCON_OK);
  mixcon_model_free(m2);
  const auto p = prompt(5);
  mixcon_session_feed(foreign, p.data(), 5);
  std::vector<uint8_t> state(static_cast<size_t>(mixcon_session_state_size(foreign)));
  int64_t n = 0;
  ASSERT_EQ(mixcon_session_state_save(foreign, state.data(), static_cast<int64_t>(state.size()), &n),
            MIXCON_OK);
  mixcon_session* mine = new_session();
  mixcon_session_feed(mine, p.data(), 3);
  const auto before = logits_of(mine);
  EXPECT_EQ(mixcon_session_state_load(mine, state.data(), n), MIXCON_ERR_INVALID_ARGUMENT)
      << mixcon_status_string(mixcon_session_state_load(mine, state.data(), n));
  EXPECT_EQ(mixcon_session_position(mine), 3);
  EXPECT_EQ(logits_of(mine), before);
  mixcon_session_free(foreign);
  mixcon_session_free(mine);
}

TEST_F(CapiSession, ForkIsIndependent) {
  mixcon_session* a = new_session();
  const auto p = prompt(10);
  mixcon_session_feed(a, p.data(), 10);
  mixcon_session* b = nullptr;
  ASSERT_EQ(mixcon_session_fork(a, &b), MIXCON_OK);
  EXPECT_EQ(logits_of(a), logits_of(b));
  // Drive the fork elsewhere; the original must not notice.
  const auto detour = prompt(7, 9);
  ASSERT_EQ(mixcon_session_feed(b, detour.data(), 7), MIXCON_OK);
  EXPECT_EQ(mixcon_session_position(a), 10);
  EXPECT_EQ(mixcon_session_position(b), 17);
  mixcon_session* c = new_session();
  mixcon_session_feed(c, p.data(), 10);
  EXPECT_EQ(steps(a, greedy_, 6), steps(c, greedy_, 6));
  mixcon_session_free(a);
  // The fork lives on after its origin goes.
  steps(b, greedy_, 2);
  EXPECT_EQ(mixcon_session_position(b), 19);
  mixcon_session_free(b);
  mixcon_session_free(c);
}

TEST_F(CapiSession, FullContextChangesNothing) {
  mixcon_session* s = new_session(8);
  const auto p = prompt(8);
  ASSERT_EQ(mixcon_session_feed(s, p.data(), 6), MIXCON_OK);
  EXPECT_EQ(mixcon_session_feed(s, p.data(), 3), MIXCON_ERR_CONTEXT_FULL);
  EXPECT_EQ(mixcon_session_position(s), 6);
  ASSERT_EQ(mixcon_session_feed(s, p.data(), 2), MIXCON_OK);
  const auto before = logits_of(s);

  mixcon_sampler_options o;
  mixcon_sampler_options_init(&o);
  o.seed = 77;
  mixcon_sampler* sampler = nullptr;
  mixcon_sampler_create(&o, &sampler);
  mixcon_sampler* twin = nullptr;
  mixcon_sampler_create(&o, &twin);
  int32_t t = -1;
  EXPECT_EQ(mixcon_session_step(s, sampler, &t), MIXCON_ERR_CONTEXT_FULL);
  EXPECT_EQ(mixcon_session_feed(s, p.data(), 1), MIXCON_ERR_CONTEXT_FULL);
  EXPECT_NE(std::string(mixcon_last_error()).find("max_context 8"), std::string::npos)
      << mixcon_last_error();
  EXPECT_EQ(mixcon_session_position(s), 8);
  EXPECT_EQ(logits_of(s), before);
  // The failed step did not consume a random draw.
  int32_t a = -1, b = -2;
  ASSERT_EQ(mixcon_session_sample(s, sampler, &a), MIXCON_OK);
  ASSERT_EQ(mixcon_session_sample(s, twin, &b), MIXCON_OK);
  EXPECT_EQ(a, b);
  mixcon_sampler_free(sampler);
  mixcon_sampler_free(twin);
  mixcon_session_free(s);
}

TEST_F(CapiSession, ResetStartsOver) {
  mixcon_session* s = new_session();
  const auto p = prompt(12);
  mixcon_session_feed(s, p.data(), 12);
  const auto first = logits_of(s);
  ASSERT_EQ(mixcon_session_reset(s), MIXCON_OK);
  EXPECT_EQ(mixcon_session_position(s), 0);
  const float* none = nullptr;
  EXPECT_EQ(mixcon_session_logits(s, &none, nullptr), MIXCON_ERR_INVALID_ARGUMENT);
  mixcon_session_feed(s, p.data(), 12);
  EXPECT_EQ(logits_of(s), first);
  mixcon_session_free(s);
}

// The cancel is raised while the prefill runs (well inside it, but early).
// The prefill's length on this machine is measured on a twin session; if the
// call still ends before the cancel lands (a loaded machine), the flag must
// then stop the next call, and the attempt is repeated.
TEST_F(CapiSession, CancelFromAnotherThreadStopsALongPrefill) {
  const auto p = prompt(2000);
  const int32_t warm[] = {1, 2};
  bool landed = false;
  for (int attempt = 0; attempt < 5 && !landed; ++attempt) {
    mixcon_session* twin = new_session();
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(mixcon_session_feed(twin, p.data(), 2000), MIXCON_OK);
    const auto full = std::chrono::steady_clock::now() - t0;
    mixcon_session_free(twin);

    mixcon_session* s = new_session();
    ASSERT_EQ(mixcon_session_feed(s, warm, 2), MIXCON_OK);
    const auto before = logits_of(s);
    std::atomic<bool> started{false};
    mixcon_status st = MIXCON_OK;
    std::chrono::steady_clock::duration took{};
    std::thread worker([&] {
      started = true;
      const auto t1 = std::chrono::steady_clock::now();
      st = mixcon_session_feed(s, p.data(), 2000 - 2);
      took = std::chrono::steady_clock::now() - t1;
    });
    while (!started) std::this_thread::yield();
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        full / 10, std::chrono::milliseconds(50)));
    ASSERT_EQ(mixcon_session_cancel(s), MIXCON_OK);
    worker.join();
    int32_t t = -1;
    if (st == MIXCON_OK) {
      // Finished first: the raised flag stops the next cancellable call.
      EXPECT_EQ(mixcon_session_step(s, greedy_, &t), MIXCON_ERR_CANCELLED);
      EXPECT_EQ(mixcon_session_position(s), 2000);
      mixcon_session_free(s);
      continue;
    }
    landed = true;
    EXPECT_EQ(st, MIXCON_ERR_CANCELLED) << mixcon_last_error();
    EXPECT_LT(took, full / 2) << "cancel was not prompt: the uncancelled prefill took "
                              << std::chrono::duration<double>(full).count() << " s";
    EXPECT_EQ(mixcon_session_position(s), 2);
    EXPECT_EQ(logits_of(s), before);
    // The cancel was consumed: the session works on.
    EXPECT_EQ(mixcon_session_step(s, greedy_, &t), MIXCON_OK);
    EXPECT_EQ(mixcon_session_position(s), 3);
    mixcon_session_free(s);
  }
  EXPECT_TRUE(landed) << "in 5 attempts every prefill ended before the cancel";
}

TEST_F(CapiSession, CancelBetweenStepsStopsTheNextStep) {
  mixcon_session* s = new_session();
  const auto p = prompt(4);
  mixcon_session_feed(s, p.data(), 4);
  int32_t t = -1;
  std::thread([&] { mixcon_session_cancel(s); }).join();
  EXPECT_EQ(mixcon_session_step(s, greedy_, &t), MIXCON_ERR_CANCELLED);
  EXPECT_EQ(mixcon_session_position(s), 4);
  EXPECT_EQ(mixcon_session_step(s, greedy_, &t), MIXCON_OK);
  mixcon_session_free(s);
}

}  // namespace

namespace {

// The golden vectors of tests/data/golden (the float64 reference from the
// weights as stored) through the C ABI, one token at a time and as one chunk,
// with the README's tolerance for a float32 engine: |got - want| <= 1e-4 +
// 1e-4 * max|want| per row.
struct GoldenCase {
  std::vector<int32_t> tokens;
  std::vector<float> want;  // [tokens, 512]
};

GoldenCase load_golden(const std::string& name) {
  const std::string dir = std::string(MIXCON_TEST_DATA_DIR) + "/golden/";
  GoldenCase g;
  std::ifstream mf(dir + "manifest.json");
  EXPECT_TRUE(mf.good()) << "missing " << dir << "manifest.json";
  if (!mf) return g;
  const auto manifest = nlohmann::json::parse(mf);
  g.tokens = manifest["tokens"].get<std::vector<int32_t>>();
  std::ifstream lf(dir + name + ".logits.f32", std::ios::binary);
  g.want.resize(g.tokens.size() * 512);
  lf.read(reinterpret_cast<char*>(g.want.data()), static_cast<std::streamsize>(g.want.size() * 4));
  EXPECT_TRUE(lf.good()) << "cannot read " << name << ".logits.f32";
  return g;
}

void expect_rows_match(const float* got, const float* want, size_t n_rows, const char* how) {
  for (size_t i = 0; i < n_rows; ++i) {
    float scale = 0;
    for (size_t j = 0; j < 512; ++j) scale = std::max(scale, std::fabs(want[i * 512 + j]));
    for (size_t j = 0; j < 512; ++j)
      ASSERT_NEAR(got[i * 512 + j], want[i * 512 + j], 1e-4f + 1e-4f * scale)
          << how << ": row " << i << " logit " << j;
  }
}

class CapiGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(CapiGolden, LogitsMatchTheReference) {
  const GoldenCase g = load_golden(GetParam());
  ASSERT_FALSE(g.tokens.empty());
  const std::string path = std::string(MIXCON_TEST_DATA_DIR) + "/golden/" + GetParam() + ".mixc";
  mixcon_model* m = nullptr;
  ASSERT_EQ(mixcon_model_load(path.c_str(), nullptr, &m), MIXCON_OK) << mixcon_last_error();
  mixcon_session *chunk = nullptr, *single = nullptr;
  ASSERT_EQ(mixcon_session_create(m, nullptr, &chunk), MIXCON_OK);
  ASSERT_EQ(mixcon_session_create(m, nullptr, &single), MIXCON_OK);
  mixcon_model_free(m);
  const auto n = static_cast<int64_t>(g.tokens.size());
  std::vector<float> rows(g.want.size()), stepped(g.want.size());
  ASSERT_EQ(mixcon_session_feed_all_logits(chunk, g.tokens.data(), n, rows.data(),
                                           static_cast<int64_t>(rows.size())),
            MIXCON_OK)
      << mixcon_last_error();
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(mixcon_session_feed(single, &g.tokens[static_cast<size_t>(i)], 1), MIXCON_OK);
    const float* l = nullptr;
    ASSERT_EQ(mixcon_session_logits(single, &l, nullptr), MIXCON_OK);
    std::copy(l, l + 512, stepped.begin() + i * 512);
  }
  expect_rows_match(rows.data(), g.want.data(), g.tokens.size(), "prefill");
  expect_rows_match(stepped.data(), g.want.data(), g.tokens.size(), "step");
  mixcon_session_free(chunk);
  mixcon_session_free(single);
}

INSTANTIATE_TEST_SUITE_P(Variants, CapiGolden,
                         ::testing::Values("all-features", "zstd", "tied", "rope"),
                         [](const auto& info) {
                           std::string s = info.param;
                           std::replace(s.begin(), s.end(), '-', '_');
                           return s;
                         });

}  // namespace
