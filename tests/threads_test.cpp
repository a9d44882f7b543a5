// 8 sessions on one model driven from 4 threads give the same tokens as the
// same work done sequentially (and with a different compute thread count).
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "capi_test_models.h"
#include "mixcon.h"

namespace {

constexpr int kSessions = 8;
constexpr int kThreads = 4;
constexpr int kSteps = 24;

// One session's whole life: its own prompt, its own seeded sampler.
std::vector<int32_t> drive(mixcon_model* model, int index) {
  mixcon_session* s = nullptr;
  EXPECT_EQ(mixcon_session_create(model, nullptr, &s), MIXCON_OK) << mixcon_last_error();
  mixcon_sampler_options so;
  mixcon_sampler_options_init(&so);
  so.temperature = index % 2 ? 0.0f : 0.9f;  // greedy and sampled sessions
  so.seed = 1000 + index;
  mixcon_sampler* sampler = nullptr;
  EXPECT_EQ(mixcon_sampler_create(&so, &sampler), MIXCON_OK);
  std::vector<int32_t> prompt;
  for (int i = 0; i < 5 + index * 3; ++i) prompt.push_back((i * 31 + index * 17 + 3) % 512);
  EXPECT_EQ(mixcon_session_feed(s, prompt.data(), static_cast<int64_t>(prompt.size())), MIXCON_OK);
  std::vector<int32_t> out;
  for (int i = 0; i < kSteps; ++i) {
    int32_t t = -1;
    EXPECT_EQ(mixcon_session_step(s, sampler, &t), MIXCON_OK) << mixcon_last_error();
    out.push_back(t);
  }
  mixcon_sampler_free(sampler);
  mixcon_session_free(s);
  return out;
}

mixcon_model* load(const std::vector<uint8_t>& bytes, int32_t n_threads) {
  mixcon_model_options o;
  mixcon_model_options_init(&o);
  o.n_threads = n_threads;
  mixcon_model* m = nullptr;
  EXPECT_EQ(mixcon_model_load_memory(bytes.data(), static_cast<int64_t>(bytes.size()), &o, &m),
            MIXCON_OK)
      << mixcon_last_error();
  return m;
}

TEST(Threads, EightSessionsOnFourThreadsMatchSequential) {
  const auto bytes = mixcon::write_model(capi_test::tiny_model(21, false));

  mixcon_model* seq_model = load(bytes, 2);
  std::vector<std::vector<int32_t>> sequential(kSessions);
  for (int i = 0; i < kSessions; ++i) sequential[i] = drive(seq_model, i);
  mixcon_model_free(seq_model);

  mixcon_model* shared = load(bytes, 1);
  std::vector<std::vector<int32_t>> parallel(kSessions);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = t; i < kSessions; i += kThreads) parallel[i] = drive(shared, i);
    });
  for (auto& th : threads) th.join();
  mixcon_model_free(shared);

  for (int i = 0; i < kSessions; ++i) EXPECT_EQ(parallel[i], sequential[i]) << "session " << i;
}

TEST(Threads, SessionsInterleavedStepByStep) {
  // Two threads alternate on their own sessions, each step racing the other's.
  const auto bytes = mixcon::write_model(capi_test::tiny_model(22, false));
  mixcon_model* m = load(bytes, 1);
  const auto expect0 = drive(m, 0), expect1 = drive(m, 1);
  std::vector<int32_t> got0, got1;
  std::thread a([&] { got0 = drive(m, 0); });
  std::thread b([&] { got1 = drive(m, 1); });
  a.join();
  b.join();
  mixcon_model_free(m);
  EXPECT_EQ(got0, expect0);
  EXPECT_EQ(got1, expect1);
}

}  // namespace
