// Whole models on the CUDA backend against the same models on the CPU, for
// every variant of MODEL.md: logits of a prefill and of single steps, the
// saved state (same layout, floats within tolerance), prefill == steps on
// the GPU, fork, and a CPU-saved state loaded into a GPU session. Skips with
// a message where no GPU is visible.
#include <gtest/gtest.h>

#ifdef MIXCON_HAVE_CUDA

#include <cstdlib>
#include <thread>

#include "core/common/status.h"
#include "kernels/cuda/cuda_backend.h"
#include "model_test_util.h"

namespace mixcon {
namespace {

using testutil::Variant;

// MODEL.md §5's relative tolerance, here between two backends.
constexpr double kRel = 1e-4;

// A narrower cache or activations rounds on both backends, and a value whose
// float sums differ in the last bit may round to the neighbouring f16/bf16:
// their logits agree within the rounding's own tolerance instead.
constexpr double kRoundedRel = 5e-4;

void expect_logits_close(const float* got, const float* want, int64_t V, const std::string& what,
                         double rel = kRel) {
  const double mx = std::max(testutil::max_abs(want, V), 1e-30);
  EXPECT_LE(testutil::max_abs_diff(got, want, V), rel * mx) << what;
}

// Max |got - want| over n floats read at byte offset `o` (any alignment),
// and max |want|.
void float_diff(const std::vector<uint8_t>& got, const std::vector<uint8_t>& want, size_t o,
                size_t n, double* diff, double* mx) {
  *diff = 0;
  *mx = 0;
  for (size_t i = 0; i < n; ++i, o += 4) {
    float x, y;
    std::memcpy(&x, got.data() + o, 4);
    std::memcpy(&y, want.data() + o, 4);
    *mx = std::max(*mx, std::fabs(double(y)));
    *diff = std::max(*diff, std::fabs(double(x) - double(y)));
  }
}

// The layout of core/session/state_serializer.cpp: header and token history
// equal; the state floats (KV rows, Conba windows, states, gains) close; the
// has_logits byte equal; the logits (one byte off alignment) close; the
// checksum (8 bytes) differs with the floats, so it is not compared.
void expect_states_close(const std::vector<uint8_t>& got, const std::vector<uint8_t>& want,
                         int64_t position, int64_t V, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  const size_t head = 28 + size_t(position) * 4;  // header (MXST v2) + history
  const size_t logits_bytes = size_t(V) * 4, tail = 1 + logits_bytes + 8;
  ASSERT_GE(want.size(), head + tail) << what;
  ASSERT_EQ(0, std::memcmp(got.data(), want.data(), head)) << what << ": header/tokens";
  const size_t flag = want.size() - tail;
  ASSERT_EQ(want[flag], 1) << what << ": the session has logits";
  ASSERT_EQ(got[flag], 1) << what << ": has_logits";
  double diff, mx;
  float_diff(got, want, head, (flag - head) / 4, &diff, &mx);
  EXPECT_LE(diff, kRel * std::max(mx, 1.0)) << what << ": state values";
  float_diff(got, want, flag + 1, size_t(V), &diff, &mx);
  EXPECT_LE(diff, kRel * std::max(mx, 1e-30)) << what << ": logits";
}

std::shared_ptr<const Model> load_on(const std::vector<uint8_t>& bytes, Device device) {
  ModelOptions o;
  o.device = device;
  o.n_threads = 1;
  return Model::create(ModelFile::from_memory(bytes.data(), int64_t(bytes.size()), ReadOptions{}),
                       o);
}

class CudaModelTest : public ::testing::TestWithParam<Variant> {
 protected:
  void SetUp() override {
    if (!cuda_backend_available(0)) GTEST_SKIP() << "no CUDA device visible";
  }
};

TEST_P(CudaModelTest, MatchesCpuPrefillStepsStateForkLoad) {
  const Variant& v = GetParam();
  const std::vector<uint8_t> bytes = testutil::model_bytes(testutil::variant_config(v), v.dtype, 21);
  auto cpu_model = load_on(bytes, Device::Cpu);
  auto gpu_model = load_on(bytes, Device::Cuda);
  const int64_t V = cpu_model->config().vocab_size;
  // Longer than the workspace's prefill chunk (64), so it crosses a boundary.
  const int64_t T = 75;
  const std::vector<int32_t> toks = testutil::random_tokens(T + 6, V, 4);

  Session cpu(cpu_model, {}), gpu(gpu_model, {});
  std::vector<float> c_all(size_t(T * V)), g_all(size_t(T * V));
  cpu.feed(toks.data(), T, nullptr, c_all.data());
  gpu.feed(toks.data(), T, nullptr, g_all.data());
  for (int64_t i = 0; i < T; ++i)
    expect_logits_close(&g_all[size_t(i * V)], &c_all[size_t(i * V)], V,
                        v.name + " prefill row " + std::to_string(i));
  for (int64_t i = T; i < T + 6; ++i) {
    cpu.feed(&toks[size_t(i)], 1);
    gpu.feed(&toks[size_t(i)], 1);
    expect_logits_close(gpu.logits(), cpu.logits(), V, v.name + " step " + std::to_string(i));
  }
  const std::vector<uint8_t> c_state = testutil::state_of(cpu);
  expect_states_close(testutil::state_of(gpu), c_state, T + 6, V, v.name + " state");

  // Prefill == steps on the GPU itself.
  Session steps(gpu_model, {});
  for (int64_t i = 0; i < T; ++i) steps.feed(&toks[size_t(i)], 1);
  expect_logits_close(steps.logits(), &g_all[size_t((T - 1) * V)], V, v.name + " gpu steps");

  // A fork continues exactly like its parent.
  std::unique_ptr<Session> fork = gpu.fork();
  const int32_t next = toks[0];
  fork->feed(&next, 1);
  gpu.feed(&next, 1);
  EXPECT_EQ(0, std::memcmp(fork->logits(), gpu.logits(), size_t(V) * sizeof(float))) << v.name;

  // A state saved on the CPU continues on the GPU like on the CPU.
  Session loaded(gpu_model, {});
  loaded.load_state(c_state.data(), int64_t(c_state.size()));
  cpu.feed(&next, 1);
  loaded.feed(&next, 1);
  expect_logits_close(loaded.logits(), cpu.logits(), V, v.name + " loaded state");
}

// Sessions of one GPU model fed from several threads at once, each on its own
// stream: every session's logits are those it gives when run alone.
TEST_F(CudaModelTest, ConcurrentSessionsOnTheirOwnStreams) {
  const Variant v = testutil::all_variants()[0];
  const std::vector<uint8_t> bytes = testutil::model_bytes(testutil::variant_config(v), v.dtype, 25);
  auto gpu_model = load_on(bytes, Device::Cuda);
  const int64_t V = gpu_model->config().vocab_size;
  constexpr int kSessions = 3;
  const int64_t T = 20, steps = 5;
  // What each session feeds (its prompt, then single tokens) and the logits
  // after every feed.
  auto run = [&](int i, std::vector<float>& logits) {
    const std::vector<int32_t> toks = testutil::random_tokens(T + steps, V, 40 + uint32_t(i));
    Session s(gpu_model, {});
    logits.assign(size_t((steps + 1) * V), 0.0f);
    s.feed(toks.data(), T);
    std::copy(s.logits(), s.logits() + V, logits.begin());
    for (int64_t j = 0; j < steps; ++j) {
      s.feed(&toks[size_t(T + j)], 1);
      std::copy(s.logits(), s.logits() + V, logits.begin() + (j + 1) * V);
    }
  };
  std::vector<float> alone[kSessions], together[kSessions];
  for (int i = 0; i < kSessions; ++i) run(i, alone[i]);
  std::vector<std::thread> threads;
  std::string errors[kSessions];
  for (int i = 0; i < kSessions; ++i)
    threads.emplace_back([&, i] {
      try {
        run(i, together[i]);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kSessions; ++i) {
    ASSERT_EQ(errors[i], "") << "session " << i;
    for (int64_t j = 0; j <= steps; ++j)
      expect_logits_close(&together[i][size_t(j * V)], &alone[i][size_t(j * V)], V,
                          "session " + std::to_string(i) + " feed " + std::to_string(j));
  }
}

// Decode steps run as a CUDA graph (re-recorded each token, the executable
// graph updated in place or rebuilt when the attention's split count
// changes): the same bits as launching the same kernels one by one
// (MIXCON_CUDA_GRAPHS=0), across a change of shape, for a model with MoE
// layers (routed on the device inside the graph).
TEST_F(CudaModelTest, DecodeGraphEqualsDirectLaunches) {
  const Variant v = testutil::all_variants()[0];
  const std::vector<uint8_t> bytes = testutil::model_bytes(testutil::variant_config(v), v.dtype, 27);
  auto graphs = load_on(bytes, Device::Cuda);
  setenv("MIXCON_CUDA_GRAPHS", "0", 1);
  std::shared_ptr<const Model> direct;
  try {
    direct = load_on(bytes, Device::Cuda);
  } catch (...) {
    unsetenv("MIXCON_CUDA_GRAPHS");
    throw;
  }
  unsetenv("MIXCON_CUDA_GRAPHS");
  auto cpu_model = load_on(bytes, Device::Cpu);
  ASSERT_GT(graphs->config().moe.n_experts, 0);
  const int64_t V = graphs->config().vocab_size;
  // 64 keys is the shortest attention split: steps 60..69 cross from one
  // split to two.
  const int64_t T = 60, steps = 10;
  const std::vector<int32_t> toks = testutil::random_tokens(T + steps, V, 7);
  Session g(graphs, {}), d(direct, {}), c(cpu_model, {});
  g.feed(toks.data(), T);
  d.feed(toks.data(), T);
  c.feed(toks.data(), T);
  for (int64_t i = T; i < T + steps; ++i) {
    g.feed(&toks[size_t(i)], 1);
    d.feed(&toks[size_t(i)], 1);
    c.feed(&toks[size_t(i)], 1);
    EXPECT_EQ(0, std::memcmp(g.logits(), d.logits(), size_t(V) * sizeof(float))) << "step " << i;
    expect_logits_close(g.logits(), c.logits(), V, "graph step " + std::to_string(i));
  }
  // A cancelled step (seen while the graph is recorded) runs nothing.
  std::atomic<bool> cancel{true};
  const std::vector<uint8_t> before = testutil::state_of(g);
  try {
    g.feed(&toks[0], 1, &cancel);
    ADD_FAILURE() << "the cancelled feed ran";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::Cancelled);
  }
  EXPECT_EQ(testutil::state_of(g), before);
  g.feed(&toks[0], 1);
  d.feed(&toks[0], 1);
  EXPECT_EQ(0, std::memcmp(g.logits(), d.logits(), size_t(V) * sizeof(float))) << "after cancel";
}

// An f16 KV cache on the device: the same logits as an f16 cache on the CPU
// (a key may round to a neighbouring f16 value when the two backends'
// f32 sums differ in the last bit, hence the cache's own tolerance), and
// its state continues on the CPU.
TEST_F(CudaModelTest, F16KvCacheMatchesTheCpus) {
  const Variant v = testutil::all_variants()[0];
  const std::vector<uint8_t> bytes = testutil::model_bytes(testutil::variant_config(v), v.dtype, 22);
  auto cpu_model = load_on(bytes, Device::Cpu);
  auto gpu_model = load_on(bytes, Device::Cuda);
  const int64_t V = cpu_model->config().vocab_size;
  const int64_t T = 70;
  const std::vector<int32_t> toks = testutil::random_tokens(T + 4, V, 5);
  SessionOptions o;
  o.kv_dtype = DType::F16;
  Session cpu(cpu_model, o), gpu(gpu_model, o);
  cpu.feed(toks.data(), T);
  gpu.feed(toks.data(), T);
  auto close = [&](const float* a, const float* b, const std::string& what) {
    expect_logits_close(a, b, V, what, kRoundedRel);
  };
  close(gpu.logits(), cpu.logits(), "prefill");
  for (int64_t i = T; i < T + 4; ++i) {
    cpu.feed(&toks[size_t(i)], 1);
    gpu.feed(&toks[size_t(i)], 1);
    close(gpu.logits(), cpu.logits(), "step " + std::to_string(i));
  }
  const std::vector<uint8_t> g_state = testutil::state_of(gpu);
  EXPECT_EQ(g_state.size(), testutil::state_of(cpu).size());
  Session on_cpu(cpu_model, o);
  on_cpu.load_state(g_state.data(), int64_t(g_state.size()));
  const int32_t next = toks[0];
  on_cpu.feed(&next, 1);
  gpu.feed(&next, 1);
  close(on_cpu.logits(), gpu.logits(), "gpu state on the cpu");
}

// The device kernels read f32/f16/bf16 caches: a q8_0 cache on CUDA is
// refused with a status naming the way out, even where the CPU takes it.
TEST_F(CudaModelTest, Q8KvCacheIsCpuOnly) {
  Variant v = testutil::all_variants()[0];
  v.head_dim = 32;
  const std::vector<uint8_t> bytes = testutil::model_bytes(testutil::variant_config(v), v.dtype, 23);
  SessionOptions o;
  o.kv_dtype = DType::Q8_0;
  EXPECT_NO_THROW(Session(load_on(bytes, Device::Cpu), o));
  try {
    Session gpu(load_on(bytes, Device::Cuda), o);
    ADD_FAILURE() << "a q8_0 KV cache was accepted on CUDA";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::Unsupported);
    EXPECT_NE(std::string(e.what()).find("CPU-only"), std::string::npos) << e.what();
  }
}

// bf16 activations on the GPU: the same logits as the CPU's bf16 products,
// and prefill == steps within the option's documented ~1e-3. Between the
// backends the tolerance is the rounding's own (an activation whose float
// sums differ in the last bit may round to the neighbouring bf16), as for
// the f16 KV cache above.
TEST_F(CudaModelTest, Bf16ActivationsMatchTheCpus) {
  const Variant v{"bf16", DType::BF16};
  const std::vector<uint8_t> bytes = testutil::model_bytes(testutil::variant_config(v), v.dtype, 26);
  auto cpu_model = load_on(bytes, Device::Cpu);
  auto gpu_model = load_on(bytes, Device::Cuda);
  const int64_t V = cpu_model->config().vocab_size;
  const int64_t T = 70;
  const std::vector<int32_t> toks = testutil::random_tokens(T + 4, V, 6);
  SessionOptions o;
  o.activation_dtype = DType::BF16;
  Session cpu(cpu_model, o), gpu(gpu_model, o), exact(gpu_model, {});
  cpu.feed(toks.data(), T);
  gpu.feed(toks.data(), T);
  exact.feed(toks.data(), T);
  auto close = [&](const float* got, const float* want, const std::string& what) {
    expect_logits_close(got, want, V, what, kRoundedRel);
  };
  close(gpu.logits(), cpu.logits(), "bf16 prefill");
  EXPECT_GT(testutil::max_abs_diff(gpu.logits(), exact.logits(), V), 0.0) << "nothing was rounded";
  Session steps(gpu_model, o);
  for (int64_t i = 0; i < T; ++i) steps.feed(&toks[size_t(i)], 1);
  const double mx = std::max(testutil::max_abs(gpu.logits(), V), 1e-30);
  EXPECT_LE(testutil::max_abs_diff(steps.logits(), gpu.logits(), V), 1e-2 * mx) << "steps vs prefill";
  for (int64_t i = T; i < T + 4; ++i) {
    cpu.feed(&toks[size_t(i)], 1);
    gpu.feed(&toks[size_t(i)], 1);
    close(gpu.logits(), cpu.logits(), "bf16 step " + std::to_string(i));
  }
}

// Int8 activation products are a CPU kernel; the GPU takes f32 or bf16 activations.
TEST_F(CudaModelTest, Int8ActivationsAreCpuOnly) {
  const Variant v{"q8_0", DType::Q8_0};
  const std::vector<uint8_t> bytes = testutil::model_bytes(testutil::variant_config(v), v.dtype, 24);
  SessionOptions o;
  o.activation_dtype = DType::Q8_0;
  EXPECT_NO_THROW(Session(load_on(bytes, Device::Cpu), o));
  try {
    Session gpu(load_on(bytes, Device::Cuda), o);
    ADD_FAILURE() << "int8 activations were accepted on CUDA";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::Unsupported);
    EXPECT_NE(std::string(e.what()).find("CPU-only"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, CudaModelTest, ::testing::ValuesIn(testutil::all_variants()),
                         [](const ::testing::TestParamInfo<Variant>& i) { return i.param.name; });

}  // namespace
}  // namespace mixcon

#else  // !MIXCON_HAVE_CUDA

TEST(CudaModel, NotBuilt) { GTEST_SKIP() << "built without CUDA (MIXCON_CUDA=OFF)"; }

#endif
