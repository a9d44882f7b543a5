// The engine against the golden vectors of the float64 Python reference, on
// the CPU (golden_util.h says what they are and what must hold;
// cuda_golden_test.cpp runs the same on the GPU).
#include <gtest/gtest.h>

#include "golden_util.h"

namespace mixcon {
namespace {

TEST(ModelGolden, ManifestPresent) {
  golden::Manifest g;
  EXPECT_TRUE(golden::load_manifest(&g));
}

TEST(ModelGolden, DecodeMatchesReference) { golden::run(golden::Mode::Decode, Device::Cpu); }

TEST(ModelGolden, PrefillMatchesReference) { golden::run(golden::Mode::Prefill, Device::Cpu); }

}  // namespace
}  // namespace mixcon
