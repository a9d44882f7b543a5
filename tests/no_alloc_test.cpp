// PERF.md: no heap allocation during a decode step. Global operator new and
// delete are replaced in this executable by counting versions; after the
// session is created and warmed up (OpenMP creates its thread team on first
// use), feeding tokens must not allocate, with 1 and with 2 threads.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <tuple>

#include "model_test_util.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<int64_t> g_allocs{0};

void* counted_alloc(std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocs.fetch_add(1);
  void* p = std::malloc(n == 0 ? 1 : n);
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t n, std::align_val_t a) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocs.fetch_add(1);
  const std::size_t al = static_cast<std::size_t>(a);
  void* p = std::aligned_alloc(al, (n + al - 1) / al * al);
  if (!p) throw std::bad_alloc();
  return p;
}
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace mixcon {
namespace {

// Thread count, and whether products round activations to int8.
class NoAllocTest : public ::testing::TestWithParam<std::tuple<int, bool>> {};

TEST_P(NoAllocTest, DecodeAndPrefillDoNotAllocate) {
  const int threads = std::get<0>(GetParam());
  // A model wide enough that the kernels really split over threads.
  testutil::Variant v{"q8_0", DType::Q8_0};
  ModelConfig c = testutil::variant_config(v, 512);
  c.d_model = 256;
  c.mlp.d_ff = 512;
  c.moe.d_ff = 256;
  c.conba.d_inner = 512;
  auto model = testutil::load_model(testutil::model_bytes(c, DType::Q8_0, 5), threads);
  SessionOptions o;
  o.n_threads = threads;
  if (std::get<1>(GetParam())) o.activation_dtype = DType::Q8_0;
  Session s(model, o);
  const auto toks = testutil::random_tokens(300, s.n_vocab(), 3);
  std::vector<float> all(size_t(100 * s.n_vocab()));
  std::atomic<bool> cancel{false};
  // Warm-up: both paths once.
  s.feed(toks.data(), 1);
  s.feed(toks.data() + 1, 100, nullptr, all.data());

  g_allocs = 0;
  g_counting = true;
  for (int i = 0; i < 50; ++i) s.feed(&toks[size_t(2 + i)], 1, &cancel);
  g_counting = false;
  EXPECT_EQ(g_allocs.load(), 0) << "decode steps allocated";

  g_allocs = 0;
  g_counting = true;
  s.feed(toks.data() + 60, 100, &cancel, all.data());
  s.feed(toks.data() + 160, 70, &cancel);
  g_counting = false;
  EXPECT_EQ(g_allocs.load(), 0) << "prefill allocated";
  EXPECT_EQ(s.position(), 1 + 100 + 50 + 170);
}

INSTANTIATE_TEST_SUITE_P(ThreadsAndActivations, NoAllocTest,
                         ::testing::Combine(::testing::Values(1, 2), ::testing::Bool()));

}  // namespace
}  // namespace mixcon
