// The golden vectors of the float64 Python reference (golden_util.h) on the
// CUDA backend: every variant by decode (each step a CUDA graph) and by
// prefill, held to the same 1e-4 of the largest logit as the CPU. Skips with
// a message where no GPU is visible.
#include <gtest/gtest.h>

#ifdef MIXCON_HAVE_CUDA

#include "golden_util.h"
#include "kernels/cuda/cuda_backend.h"

namespace mixcon {
namespace {

class CudaGolden : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_backend_available(0)) GTEST_SKIP() << "no CUDA device visible";
  }
};

TEST_F(CudaGolden, DecodeMatchesReference) { golden::run(golden::Mode::Decode, Device::Cuda); }

TEST_F(CudaGolden, PrefillMatchesReference) { golden::run(golden::Mode::Prefill, Device::Cuda); }

}  // namespace
}  // namespace mixcon

#else  // !MIXCON_HAVE_CUDA

TEST(CudaGolden, NotBuilt) { GTEST_SKIP() << "built without CUDA (MIXCON_CUDA=OFF)"; }

#endif
