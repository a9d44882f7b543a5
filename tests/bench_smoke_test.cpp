// `mixcon bench` end to end on the tiny-random preset with tiny sizes: the
// command runs, writes one JSON object with every figure of PERF.md, the
// figures agree with each other, and bad usage is refused with exit code 2.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

const std::string kMixcon = std::string(MIXCON_BIN_DIR) + "/mixcon";

// Runs the shell command, returns its exit status (-1 if it did not exit).
int run(const std::string& cmd) {
  const int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::string temp_path(const char* name) {
  const char* base = std::getenv("TMPDIR");
  return std::string(base && *base ? base : "/tmp") + "/mixcon_bench_smoke_" +
         std::to_string(getpid()) + "_" + name;
}

class BenchSmoke : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    json_path_ = new std::string(temp_path("out.json"));
    exit_code_ = run(kMixcon +
                     " bench --preset tiny-random --prompt 16 --gen 4 --contexts 32,64 --threads 2"
                     " --json " + *json_path_ + " > /dev/null 2>&1");
    std::ifstream f(*json_path_);
    if (f) {
      doc_ = new nlohmann::json(nlohmann::json::parse(f, nullptr, false));
    }
    std::remove(json_path_->c_str());
  }
  static void TearDownTestSuite() {
    delete doc_;
    delete json_path_;
    doc_ = nullptr;
    json_path_ = nullptr;
  }
  static const nlohmann::json& doc() { return *doc_; }

  static std::string* json_path_;
  static int exit_code_;
  static nlohmann::json* doc_;
};
std::string* BenchSmoke::json_path_ = nullptr;
int BenchSmoke::exit_code_ = -1;
nlohmann::json* BenchSmoke::doc_ = nullptr;

TEST_F(BenchSmoke, RunsAndWritesOneJsonObject) {
  ASSERT_EQ(exit_code_, 0) << kMixcon << " bench failed";
  ASSERT_NE(doc_, nullptr);
  ASSERT_TRUE(doc().is_object());
}

TEST_F(BenchSmoke, HasEveryFigure) {
  ASSERT_NE(doc_, nullptr);
  for (const char* key :
       {"prefill_tok_s", "decode_tok_s", "bytes_per_token", "mem_bw_GBs", "roofline_decode",
        "flops_per_token", "peak_GFLOPs", "roofline_prefill", "state_bytes",
        "kv_bytes_per_token", "load_GBs", "fork_us", "state_save_us", "machine", "threads",
        "dtype", "contexts"})
    EXPECT_TRUE(doc().contains(key)) << "missing " << key;
  for (const char* key : {"cpu_model", "cpu_features", "kernel_path", "threads", "gpu"})
    EXPECT_TRUE(doc()["machine"].contains(key)) << "missing machine." << key;
  EXPECT_TRUE(doc()["load_GBs"].contains("raw"));
  EXPECT_TRUE(doc()["load_GBs"].contains("zstd"));
  for (const char* per_context : {"decode_tok_s", "bytes_per_token", "roofline_decode",
                                  "mem_bw_GBs_decode", "state_bytes", "fork_us", "state_save_us"})
    for (const char* c : {"32", "64"})
      EXPECT_TRUE(doc()[per_context].contains(c)) << per_context << "[" << c << "] missing";
}

TEST_F(BenchSmoke, FiguresArePositiveAndConsistent) {
  ASSERT_NE(doc_, nullptr);
  EXPECT_EQ(doc()["threads"].get<int>(), 2);
  EXPECT_EQ(doc()["machine"]["threads"].get<int>(), 2);
  EXPECT_EQ(doc()["dtype"].get<std::string>(), "f32");
  EXPECT_GT(doc()["prefill_tok_s"].get<double>(), 0.0);
  EXPECT_GT(doc()["mem_bw_GBs"].get<double>(), 0.0);
  EXPECT_GT(doc()["peak_GFLOPs"].get<double>(), 0.0);
  EXPECT_GT(doc()["flops_per_token"].get<double>(), 0.0);
  EXPECT_GT(doc()["load_GBs"]["raw"].get<double>(), 0.0);
  EXPECT_GT(doc()["load_GBs"]["zstd"].get<double>(), 0.0);
  // Each context is held to the larger of the bandwidth readings around its
  // runs: the first context's includes the reading before all decode runs,
  // the last context's the one after them.
  EXPECT_GE(doc()["mem_bw_GBs_decode"]["32"].get<double>(), doc()["mem_bw_GBs"].get<double>());
  EXPECT_GE(doc()["mem_bw_GBs_decode"]["64"].get<double>(), doc()["mem_bw_GBs_end"].get<double>());
  for (const char* c : {"32", "64"}) {
    const double tok_s = doc()["decode_tok_s"][c].get<double>();
    const double bytes = doc()["bytes_per_token"][c].get<double>();
    const double bw = doc()["mem_bw_GBs_decode"][c].get<double>();
    EXPECT_GT(tok_s, 0.0);
    EXPECT_GT(bytes, 0.0);
    EXPECT_NEAR(doc()["roofline_decode"][c].get<double>(), bytes * tok_s / (bw * 1e9),
                1e-9 + 1e-9 * bytes * tok_s / (bw * 1e9));
  }
  // The KV read grows with the context; the weights read do not.
  EXPECT_GT(doc()["bytes_per_token"]["64"].get<double>(), doc()["bytes_per_token"]["32"].get<double>());
  EXPECT_GT(doc()["state_bytes"]["64"].get<int64_t>(), doc()["state_bytes"]["32"].get<int64_t>());
  const double prefill_roof = doc()["flops_per_token"].get<double>() *
                              doc()["prefill_tok_s"].get<double>() /
                              (doc()["peak_GFLOPs"].get<double>() * 1e9);
  EXPECT_NEAR(doc()["roofline_prefill"].get<double>(), prefill_roof, 1e-9 + 1e-9 * prefill_roof);
}

// PERF.md: kv_bytes_per_token = 2 · n_attention_layers · n_kv_heads · head_dim ·
// dtype bytes exactly. tiny-random: 2 attention layers, 2 kv heads of 16, f32.
TEST_F(BenchSmoke, KvBytesPerTokenIsExact) {
  ASSERT_NE(doc_, nullptr);
  EXPECT_EQ(doc()["kv_bytes_per_token"].get<int64_t>(), 2 * 2 * 2 * 16 * 4);
  EXPECT_EQ(doc()["kv_dtype"], "f32");
  EXPECT_EQ(doc()["prefill_chunk"].get<int64_t>(), 512);
}

// With --kv-dtype f16 the cache grows by half as much per token, and the
// report says which cache it measured.
TEST(BenchKvDtype, F16CacheHalvesKvBytesPerToken) {
  const std::string path = temp_path("f16.json");
  ASSERT_EQ(run(kMixcon + " bench --preset tiny-random --prompt 16 --gen 2 --contexts 32 --threads 1"
                          " --kv-dtype f16 --json " + path + " > /dev/null 2>&1"),
            0);
  std::ifstream f(path);
  const nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
  std::remove(path.c_str());
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["kv_dtype"], "f16");
  EXPECT_EQ(j["kv_bytes_per_token"].get<int64_t>(), 2 * 2 * 2 * 16 * 2);
  EXPECT_EQ(j["kv_bytes_per_token_expected"].get<int64_t>(), 2 * 2 * 2 * 16 * 2);
}

// --prefill-chunk reaches the sessions: the prefill runs in passes of 4, and
// a smaller workspace shows in every session's memory.
TEST(BenchPrefillChunk, SmallChunkIsReportedAndPlansLessMemory) {
  auto bench = [](const std::string& extra) {
    const std::string path = temp_path("chunk.json");
    EXPECT_EQ(run(kMixcon + " bench --preset tiny-random --prompt 16 --gen 2 --contexts 32 --threads 1 " +
                  extra + " --json " + path + " > /dev/null 2>&1"),
              0);
    std::ifstream f(path);
    nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
    std::remove(path.c_str());
    return j;
  };
  const nlohmann::json small = bench("--prefill-chunk 4"), whole = bench("");
  ASSERT_FALSE(small.is_discarded());
  ASSERT_FALSE(whole.is_discarded());
  EXPECT_EQ(small["prefill_chunk"].get<int64_t>(), 4);
  EXPECT_GT(small["prefill_tok_s"].get<double>(), 0.0);
  EXPECT_LT(small["state_bytes"]["32"].get<int64_t>(), whole["state_bytes"]["32"].get<int64_t>());
}

// --activations q8_0 reaches the sessions of a q8_0 model: the report says
// so, and measures its prefill against the int8 peak of the CPU's path.
TEST(BenchActivations, Int8ActivationsAreReported) {
  const std::string path = temp_path("act.json");
  ASSERT_EQ(run(kMixcon + " bench --preset tiny-random --dtype q8_0 --prompt 16 --gen 2 --contexts 32"
                          " --threads 1 --activations q8_0 --json " + path + " > /dev/null 2>&1"),
            0);
  std::ifstream f(path);
  const nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
  std::remove(path.c_str());
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["activations"], "q8_0");
  EXPECT_GT(j["prefill_tok_s"].get<double>(), 0.0);
  // The path's peak is PERF.md's q8_0 bar: the int8 dot product this CPU
  // has (int8-vnni, else int8-avx2; f32 FMA only on the portable path).
  EXPECT_EQ(j["peak_kind"], j["peak_kind_perf_md"]);
  const std::string kind = j["peak_kind"];
  EXPECT_TRUE(kind == "int8-vnni" || kind == "int8-avx2" || kind == "f32-fma") << kind;
}

TEST(BenchUsage, RejectsBadArguments) {
  EXPECT_EQ(run(kMixcon + " bench --preset tiny-random --activations f16 > /dev/null 2>&1"), 2);
  EXPECT_EQ(run(kMixcon + " bench --preset tiny-random --kv-dtype q4 > /dev/null 2>&1"), 2);
  // tiny-random's heads of 16 are not whole q8_0 blocks: the session refuses.
  EXPECT_EQ(run(kMixcon + " bench --preset tiny-random --kv-dtype q8_0 --prompt 8 --gen 1 --contexts 16"
                          " > /dev/null 2>&1"),
            1);
  EXPECT_EQ(run(kMixcon + " bench --preset tiny-random --prefill-chunk -1 > /dev/null 2>&1"), 2);
  EXPECT_EQ(run(kMixcon + " bench --preset tiny-random --dtype q4 > /dev/null 2>&1"), 2);
  EXPECT_EQ(run(kMixcon + " bench --preset nosuch > /dev/null 2>&1"), 2);
  EXPECT_EQ(run(kMixcon + " bench --preset tiny-random --contexts 32,x > /dev/null 2>&1"), 2);
  EXPECT_EQ(run(kMixcon + " bench --preset tiny-random --device tpu > /dev/null 2>&1"), 2);
  EXPECT_EQ(run(kMixcon + " bench --preset tiny-random -m x.mixc > /dev/null 2>&1"), 2);
  // Beyond the preset's max_context (tiny-random: 4096).
  EXPECT_EQ(run(kMixcon + " bench --preset tiny-random --contexts 5000 > /dev/null 2>&1"), 2);
}

TEST(BenchUsage, HelpExitsZero) {
  EXPECT_EQ(run(kMixcon + " bench --help > /dev/null 2>&1"), 0);
}

}  // namespace
