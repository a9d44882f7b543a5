// The golden vectors of the float64 Python reference (tools/, from the
// weights as stored), run by model_golden_test.cpp on the CPU and by
// cuda_golden_test.cpp on the GPU: tests/data/golden/manifest.json =
// {"tokens": [...], "variants": [{"name", "file", "logits", "weight_dtype", "codec"}]},
// logits = raw little-endian float32 [len(tokens), vocab], row i after
// tokens[0..i]. Every row must satisfy max|diff| <= 1e-4 · max|expected row|
// (MODEL.md §5), by decode (one token per feed) and by prefill (one feed,
// all_logits). A missing manifest is a failure, not a skip.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/format/model_file.h"
#include "core/model/model.h"
#include "core/session/session.h"

namespace mixcon {
namespace golden {

constexpr double kRel = 1e-4;

// The test data folder: MIXCON_TEST_DATA_DIR from the environment when set
// (test binaries built elsewhere and run from another checkout, as
// scripts/gpu-check --bundle does), else the source tree they were built from.
inline std::string data_dir() {
  const char* env = std::getenv("MIXCON_TEST_DATA_DIR");
  return env && *env ? std::string(env) : std::string(MIXCON_TEST_DATA_DIR);
}

inline std::string dir() { return data_dir() + "/golden"; }

inline bool read_file(const std::string& path, std::vector<uint8_t>* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

struct Manifest {
  std::vector<int32_t> tokens;
  nlohmann::json variants;
};

inline ::testing::AssertionResult load_manifest(Manifest* g) {
  std::vector<uint8_t> bytes;
  const std::string path = dir() + "/manifest.json";
  if (!read_file(path, &bytes))
    return ::testing::AssertionFailure() << "golden manifest missing: " << path;
  nlohmann::json j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded() || !j.contains("tokens") || !j.contains("variants") ||
      !j["variants"].is_array() || j["variants"].empty())
    return ::testing::AssertionFailure() << "golden manifest malformed: " << path;
  g->tokens = j["tokens"].get<std::vector<int32_t>>();
  g->variants = j["variants"];
  if (g->tokens.empty()) return ::testing::AssertionFailure() << "golden manifest: no tokens";
  return ::testing::AssertionSuccess();
}

// Largest |a - b| over a row, and the tolerance the row allows.
inline void check_row(const float* got, const float* want, int64_t V, const std::string& what,
                      double* worst) {
  double mx = 0, diff = 0;
  for (int64_t j = 0; j < V; ++j) {
    mx = std::max(mx, std::fabs(double(want[j])));
    diff = std::max(diff, std::fabs(double(got[j]) - double(want[j])));
  }
  ASSERT_GT(mx, 0.0) << what << ": expected row is all zeros";
  *worst = std::max(*worst, diff / mx);
  ASSERT_LE(diff, kRel * mx) << what;
}

enum class Mode { Decode, Prefill };

// Every variant of the manifest on `device`, by decode or by prefill.
inline void run(Mode mode, Device device) {
  Manifest g;
  ASSERT_TRUE(load_manifest(&g));
  const int64_t T = int64_t(g.tokens.size());
  for (const auto& v : g.variants) {
    const std::string name = v.at("name").get<std::string>();
    SCOPED_TRACE("variant " + name);
    std::unique_ptr<ModelFile> file;
    ASSERT_NO_THROW(file = ModelFile::open(dir() + "/" + v.at("file").get<std::string>(),
                                           ReadOptions{}));
    const std::string dtype = v.at("weight_dtype").get<std::string>();
    ModelOptions mo;
    mo.n_threads = 2;
    mo.device = device;
    auto model = Model::create(std::move(file), mo);
    EXPECT_EQ(dtype, dtype_name(model->weight_dtype()));
    const int64_t V = model->config().vocab_size;

    std::vector<uint8_t> raw;
    ASSERT_TRUE(read_file(dir() + "/" + v.at("logits").get<std::string>(), &raw));
    ASSERT_EQ(int64_t(raw.size()), T * V * 4) << "logits file size";
    std::vector<float> want(size_t(T * V));
    std::memcpy(want.data(), raw.data(), raw.size());

    Session s(model, {});
    double worst = 0;
    if (mode == Mode::Decode) {
      for (int64_t i = 0; i < T; ++i) {
        s.feed(&g.tokens[size_t(i)], 1);
        check_row(s.logits(), &want[size_t(i * V)], V, name + " decode row " + std::to_string(i), &worst);
        if (::testing::Test::HasFatalFailure()) return;
      }
    } else {
      std::vector<float> all(size_t(T * V));
      s.feed(g.tokens.data(), T, nullptr, all.data());
      for (int64_t i = 0; i < T; ++i) {
        check_row(&all[size_t(i * V)], &want[size_t(i * V)], V, name + " prefill row " + std::to_string(i), &worst);
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
    std::printf("  %-24s %s (%s, %s, %s): worst |diff|/max|row| = %.3g\n", name.c_str(),
                mode == Mode::Decode ? "decode " : "prefill", dtype.c_str(),
                v.value("codec", std::string("?")).c_str(), device == Device::Cuda ? "cuda" : "cpu",
                worst);
  }
}

}  // namespace golden
}  // namespace mixcon
