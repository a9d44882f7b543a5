// The mixcon command-line tool (build/bin/mixcon), run as a user would.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "capi_test_models.h"
#include "mixcon.h"

namespace {

struct Result {
  int exit_code = -1;
  std::string out, err;
};

Result run_cli(const std::string& args) {
  const std::string bin = std::string(MIXCON_BIN_DIR) + "/mixcon";
  const std::string err_path = std::string(::testing::TempDir()) + "mixcon_cli_stderr_" +
                               std::to_string(::getpid()) + ".txt";
  Result r;
  if (!std::ifstream(bin).good()) {
    ADD_FAILURE() << bin << " is missing: build the 'mixcon_cli' target before the tests";
    return r;
  }
  FILE* p = popen((bin + " " + args + " 2>'" + err_path + "'").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream ef(err_path);
  std::stringstream ss;
  ss << ef.rdbuf();
  r.err = ss.str();
  std::remove(err_path.c_str());
  return r;
}

class Cli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ids_ = new capi_test::TempModel(capi_test::tiny_model(31, false), "cli_ids");
    text_ = new capi_test::TempModel(capi_test::tiny_model(32, true), "cli_text");
  }
  static void TearDownTestSuite() {
    delete ids_;
    delete text_;
  }
  static capi_test::TempModel* ids_;
  static capi_test::TempModel* text_;
};
capi_test::TempModel* Cli::ids_ = nullptr;
capi_test::TempModel* Cli::text_ = nullptr;

TEST_F(Cli, Help) {
  for (const char* a : {"--help", "help", "help run"}) {
    const Result r = run_cli(a);
    EXPECT_EQ(r.exit_code, 0) << a << ": " << r.err;
    EXPECT_NE(r.out.find("run"), std::string::npos) << a;
  }
  const Result r = run_cli("run --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--top-p"), std::string::npos);
  EXPECT_NE(r.out.find("--seed"), std::string::npos);
}

TEST_F(Cli, Info) {
  const Result r = run_cli("info -m '" + text_->path() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("d_model:            64"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("8 (2 attention, 6 conba; 4 MoE, 4 MLP)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("large matrices f32"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sentencepiece"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"name\":\"capi-test\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"d_model\":64"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");
}

TEST_F(Cli, LogitsStepAndPrefillAgreeAndMatchTheCApi) {
  const std::string base = "logits -m '" + ids_->path() + "' --tokens 1,2,3,50,7";
  const Result step = run_cli(base), prefill = run_cli(base + " --prefill");
  ASSERT_EQ(step.exit_code, 0) << step.err;
  ASSERT_EQ(prefill.exit_code, 0) << prefill.err;
  const auto a = nlohmann::json::parse(step.out)["logits"];
  const auto b = nlohmann::json::parse(prefill.out)["logits"];
  ASSERT_EQ(a.size(), 5u);
  ASSERT_EQ(b.size(), 5u);

  mixcon_model* m = nullptr;
  ASSERT_EQ(mixcon_model_load(ids_->path().c_str(), nullptr, &m), MIXCON_OK);
  mixcon_session* s = nullptr;
  ASSERT_EQ(mixcon_session_create(m, nullptr, &s), MIXCON_OK);
  const int32_t toks[] = {1, 2, 3, 50, 7};
  for (size_t i = 0; i < 5; ++i) {
    ASSERT_EQ(a[i].size(), 512u);
    ASSERT_EQ(mixcon_session_feed(s, &toks[i], 1), MIXCON_OK);
    const float* l = nullptr;
    mixcon_session_logits(s, &l, nullptr);
    float scale = 0;
    for (int j = 0; j < 512; ++j) scale = std::max(scale, std::fabs(l[j]));
    for (size_t j = 0; j < 512; ++j) {
      // %.9g round-trips: the one-at-a-time rows are the C API's floats exactly.
      ASSERT_EQ(a[i][j].get<float>(), l[j]) << "row " << i << " col " << j;
      ASSERT_NEAR(b[i][j].get<float>(), l[j], 1e-4f * scale) << "row " << i << " col " << j;
    }
  }
  mixcon_session_free(s);
  mixcon_model_free(m);
}

// The tool's purpose: checking a model against reference logits. The golden
// vectors of tests/data/golden, with the README's float32 tolerance.
TEST_F(Cli, LogitsMatchTheGoldenVectors) {
  const std::string dir = std::string(MIXCON_TEST_DATA_DIR) + "/golden/";
  std::ifstream mf(dir + "manifest.json");
  ASSERT_TRUE(mf.good()) << "missing " << dir << "manifest.json";
  const auto tokens = nlohmann::json::parse(mf)["tokens"].get<std::vector<int32_t>>();
  std::string list;
  for (size_t i = 0; i < tokens.size(); ++i) list += (i ? "," : "") + std::to_string(tokens[i]);
  std::vector<float> want(tokens.size() * 512);
  std::ifstream lf(dir + "all-features.logits.f32", std::ios::binary);
  lf.read(reinterpret_cast<char*>(want.data()), static_cast<std::streamsize>(want.size() * 4));
  ASSERT_TRUE(lf.good());
  for (const char* mode : {"", " --prefill"}) {
    const Result r = run_cli("logits -m '" + dir + "all-features.mixc' --tokens " + list + mode);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto rows = nlohmann::json::parse(r.out)["logits"];
    ASSERT_EQ(rows.size(), tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i) {
      float scale = 0;
      for (size_t j = 0; j < 512; ++j) scale = std::max(scale, std::fabs(want[i * 512 + j]));
      for (size_t j = 0; j < 512; ++j)
        ASSERT_NEAR(rows[i][j].get<float>(), want[i * 512 + j], 1e-4f + 1e-4f * scale)
            << "mode '" << mode << "' row " << i << " logit " << j;
    }
  }
}

TEST_F(Cli, RunIsReproducibleAndMatchesTheCApi) {
  const std::string args = "run -m '" + text_->path() + "' -p 'the cat' -n 16 --seed 5 --temp 1.0";
  const Result r1 = run_cli(args), r2 = run_cli(args);
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  EXPECT_EQ(r1.out, r2.out);
  EXPECT_EQ(r1.err, "");

  // The same generation through the C ABI, with the CLI's defaults.
  mixcon_model* m = nullptr;
  ASSERT_EQ(mixcon_model_load(text_->path().c_str(), nullptr, &m), MIXCON_OK);
  mixcon_session* s = nullptr;
  mixcon_session_create(m, nullptr, &s);
  mixcon_sampler_options so;
  mixcon_sampler_options_init(&so);
  so.temperature = 1.0f;
  so.seed = 5;
  mixcon_sampler* sp = nullptr;
  mixcon_sampler_create(&so, &sp);
  ASSERT_EQ(mixcon_session_feed_text(s, "the cat", 7), MIXCON_OK);
  mixcon_model_info_t info;
  mixcon_model_info_init(&info);
  mixcon_model_info(m, &info);
  std::string expect;
  char buf[256];
  for (int i = 0; i < 16; ++i) {
    int64_t len = 0;
    int32_t tok = -1;
    ASSERT_EQ(mixcon_session_next_text(s, sp, buf, sizeof buf, &len, &tok), MIXCON_OK);
    expect.append(buf, static_cast<size_t>(len));
    if (tok == info.eos_id) break;
  }
  int64_t len = 0;
  mixcon_session_flush_text(s, buf, sizeof buf, &len);
  expect.append(buf, static_cast<size_t>(len));
  EXPECT_EQ(r1.out, expect);
  mixcon_sampler_free(sp);
  mixcon_session_free(s);
  mixcon_model_free(m);

  const Result other = run_cli("run -m '" + text_->path() + "' -p 'the cat' -n 16 --seed 6 --temp 1.0");
  EXPECT_EQ(other.exit_code, 0);
  EXPECT_NE(other.out, r1.out);
}

// --kv-dtype f16 runs the same prompt through a half-size KV cache: it
// generates (greedy) and the text is reproducible.
TEST_F(Cli, RunWithAnF16KvCache) {
  const std::string args = "run -m '" + text_->path() + "' -p 'the cat' -n 12 --temp 0 --kv-dtype f16";
  const Result r1 = run_cli(args), r2 = run_cli(args);
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  EXPECT_FALSE(r1.out.empty());
  EXPECT_EQ(r1.out, r2.out);
}

// --prefill-chunk 2 feeds the prompt two tokens at a time: the same greedy
// text as one pass.
TEST_F(Cli, RunWithASmallPrefillChunk) {
  const std::string args = "run -m '" + text_->path() + "' -p 'the cat sat on the mat' -n 12 --temp 0";
  const Result whole = run_cli(args), small = run_cli(args + " --prefill-chunk 2");
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  ASSERT_EQ(small.exit_code, 0) << small.err;
  EXPECT_FALSE(small.out.empty());
  EXPECT_EQ(small.out, whole.out);
}

// --activations q8_0 (int8 products with q8_0 weights) generates, and
// reproducibly.
TEST_F(Cli, RunWithInt8Activations) {
  const std::string args = "run -m '" + text_->path() + "' -p 'the cat' -n 12 --temp 0 --activations q8_0";
  const Result r1 = run_cli(args), r2 = run_cli(args);
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  EXPECT_FALSE(r1.out.empty());
  EXPECT_EQ(r1.out, r2.out);
}

// --timings reports the prompt's and the generation's token counts and
// speeds on stderr; stdout keeps exactly the text.
TEST_F(Cli, RunReportsTimings) {
  const std::string args = "run -m '" + text_->path() + "' -p 'the cat' -n 5 --temp 0";
  const Result plain = run_cli(args), timed = run_cli(args + " --timings");
  ASSERT_EQ(timed.exit_code, 0) << timed.err;
  EXPECT_EQ(timed.out, plain.out);
  EXPECT_NE(timed.err.find("generated 5 tokens"), std::string::npos) << timed.err;
  EXPECT_NE(timed.err.find("tok/s"), std::string::npos) << timed.err;
  EXPECT_EQ(plain.err.find("tok/s"), std::string::npos) << plain.err;
}

TEST_F(Cli, BadUsageFailsWithAMessage) {
  struct Case {
    std::string args;
    int code;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {"", 2, "usage"},
      {"frobnicate", 2, "unknown command"},
      {"run -p hi", 2, "missing"},
      {"run -m x.mixc -p hi --temp", 2, "needs a value"},
      {"run -m x.mixc -p hi --top-k -3", 2, "--top-k"},
      {"run -m x.mixc -p hi --temp abc", 2, "not a finite number"},
      {"run -m x.mixc -p hi --bogus 1", 2, "unknown argument"},
      {"run -m x.mixc -p hi --kv-dtype q4", 2, "not f32, f16, bf16 or q8_0"},
      {"run -m x.mixc -p hi --prefill-chunk 0", 2, "--prefill-chunk"},
      {"run -m x.mixc -p hi --activations f16", 2, "not f32, q8_0 or bf16"},
      {"run -m '" + text_->path() + "' -p hi --top-p 1.5", 2, "top_p"},
      {"logits -m x.mixc --tokens 1,x", 2, "not a token id"},
      {"info -m /nonexistent/model.mixc", 1, "IO"},
      {"logits -m '" + ids_->path() + "' --tokens 1,9999", 1, "INVALID_ARGUMENT"},
      {"run -m '" + ids_->path() + "' -p hi", 1, "UNSUPPORTED"},
  };
  for (const Case& c : cases) {
    const Result r = run_cli(c.args);
    EXPECT_EQ(r.exit_code, c.code) << c.args << "\nstderr: " << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << c.args << "\nstderr: " << r.err;
  }
}

}  // namespace
