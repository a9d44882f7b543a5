// C ABI misuse: every entry point with NULL handles and out-pointers,
// negative counts, bad ids, short buffers and bad struct sizes returns a
// status with a message, never crashes; lifetimes and per-thread errors.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "capi_test_models.h"
#include "mixcon.h"

namespace {

#define EXPECT_STATUS(expected, call)                                                   \
  do {                                                                                  \
    const mixcon_status st_ = (call);                                                   \
    EXPECT_EQ(st_, expected) << #call << " -> " << mixcon_status_string(st_) << ": "    \
                             << mixcon_last_error();                                    \
    if (st_ != MIXCON_OK) EXPECT_STRNE(mixcon_last_error(), "") << #call;               \
  } while (0)

class CapiMisuse : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    static const std::vector<uint8_t> bytes = mixcon::write_model(capi_test::tiny_model(7, false));
    bytes_ = &bytes;
  }
  void SetUp() override {
    ASSERT_EQ(mixcon_model_load_memory(bytes_->data(), static_cast<int64_t>(bytes_->size()),
                                       nullptr, &model_),
              MIXCON_OK)
        << mixcon_last_error();
    ASSERT_EQ(mixcon_session_create(model_, nullptr, &session_), MIXCON_OK);
    ASSERT_EQ(mixcon_sampler_create(nullptr, &sampler_), MIXCON_OK);
  }
  void TearDown() override {
    mixcon_sampler_free(sampler_);
    mixcon_session_free(session_);
    mixcon_model_free(model_);
  }
  static const std::vector<uint8_t>* bytes_;
  mixcon_model* model_ = nullptr;
  mixcon_session* session_ = nullptr;
  mixcon_sampler* sampler_ = nullptr;
};
const std::vector<uint8_t>* CapiMisuse::bytes_ = nullptr;

TEST(CapiLibrary, StatusStringsNameEveryCode) {
  const char* names[] = {"OK",          "INVALID_ARGUMENT", "BUFFER_TOO_SMALL", "IO",
                         "FORMAT",      "CHECKSUM",         "UNSUPPORTED",      "OUT_OF_MEMORY",
                         "CONTEXT_FULL", "CANCELLED",       "BACKEND",          "INTERNAL"};
  for (int i = 0; i <= 11; ++i)
    EXPECT_STREQ(mixcon_status_string(static_cast<mixcon_status>(i)), names[i]);
  EXPECT_STREQ(mixcon_status_string(static_cast<mixcon_status>(12)), "UNKNOWN");
  EXPECT_STREQ(mixcon_status_string(static_cast<mixcon_status>(-1)), "UNKNOWN");
}

TEST(CapiLibrary, Versions) {
  EXPECT_EQ(mixcon_abi_version(), MIXCON_HEADER_ABI_VERSION);
  const std::string v = mixcon_version();
  EXPECT_EQ(std::count(v.begin(), v.end(), '.'), 2) << v;
}

TEST(CapiLibrary, Backends) {
  EXPECT_EQ(mixcon_backend_available(MIXCON_DEVICE_CPU), 1);
  EXPECT_EQ(mixcon_backend_available(MIXCON_DEVICE_AUTO), 1);
  EXPECT_EQ(mixcon_backend_available(42), 0);
  EXPECT_EQ(mixcon_backend_available(-1), 0);
  const int32_t cuda = mixcon_backend_available(MIXCON_DEVICE_CUDA);
  EXPECT_TRUE(cuda == 0 || cuda == 1);
}

TEST(CapiLibrary, LastErrorIsPerThread) {
  std::string here, there;
  std::thread([&] {
    here = mixcon_last_error();  // a fresh thread has none
    mixcon_model* m = nullptr;
    EXPECT_EQ(mixcon_model_load("/nonexistent/dir/model.mixc", nullptr, &m), MIXCON_ERR_IO);
    EXPECT_EQ(m, nullptr);
    there = mixcon_last_error();
  }).join();
  EXPECT_EQ(here, "");
  EXPECT_NE(there.find("/nonexistent/dir/model.mixc"), std::string::npos) << there;
  EXPECT_NE(there.find("mixcon_model_load"), std::string::npos) << there;
  // This thread's message is its own.
  EXPECT_EQ(mixcon_model_options_init(nullptr), MIXCON_ERR_INVALID_ARGUMENT);
  const std::string mine = mixcon_last_error();
  EXPECT_NE(mine.find("mixcon_model_options_init"), std::string::npos);
  std::thread([&] { EXPECT_EQ(mixcon_sampler_create(nullptr, nullptr), MIXCON_ERR_INVALID_ARGUMENT); })
      .join();
  EXPECT_EQ(mine, mixcon_last_error());
}

TEST(CapiLibrary, LogCallbackReceivesFailuresAndCanBeRemoved) {
  struct Sink {
    std::vector<std::pair<int, std::string>> lines;
  } sink;
  mixcon_set_log_callback(
      [](int level, const char* msg, void* user) {
        static_cast<Sink*>(user)->lines.emplace_back(level, msg);
      },
      &sink);
  EXPECT_EQ(mixcon_session_reset(nullptr), MIXCON_ERR_INVALID_ARGUMENT);
  mixcon_set_log_callback(nullptr, nullptr);
  EXPECT_EQ(mixcon_session_reset(nullptr), MIXCON_ERR_INVALID_ARGUMENT);
  ASSERT_EQ(sink.lines.size(), 1u);
  EXPECT_EQ(sink.lines[0].first, MIXCON_LOG_DEBUG);
  EXPECT_NE(sink.lines[0].second.find("mixcon_session_reset"), std::string::npos);
}

TEST_F(CapiMisuse, ModelLoadLogsASummaryAtInfo) {
  std::vector<std::pair<int, std::string>> lines;
  mixcon_set_log_callback(
      [](int level, const char* msg, void* user) {
        static_cast<std::vector<std::pair<int, std::string>>*>(user)->emplace_back(level, msg);
      },
      &lines);
  mixcon_model* m = nullptr;
  const mixcon_status st = mixcon_model_load_memory(
      bytes_->data(), static_cast<int64_t>(bytes_->size()), nullptr, &m);
  mixcon_set_log_callback(nullptr, nullptr);
  mixcon_model_free(m);
  ASSERT_EQ(st, MIXCON_OK);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].first, MIXCON_LOG_INFO);
  EXPECT_NE(lines[0].second.find("parameters"), std::string::npos) << lines[0].second;
}

TEST(CapiLibrary, FreeNullIsANoOp) {
  mixcon_model_free(nullptr);
  mixcon_session_free(nullptr);
  mixcon_sampler_free(nullptr);
}

TEST(CapiLibrary, OptionsInitRejectsNull) {
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_model_options_init(nullptr));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_options_init(nullptr));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_sampler_options_init(nullptr));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_model_info_init(nullptr));
}

TEST_F(CapiMisuse, ModelLoadArguments) {
  mixcon_model* m = reinterpret_cast<mixcon_model*>(0x1);  // must stay untouched on failure
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_model_load(nullptr, nullptr, &m));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_model_load("x.mixc", nullptr, nullptr));
  EXPECT_STATUS(MIXCON_ERR_IO, mixcon_model_load("/nonexistent.mixc", nullptr, &m));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_model_load_memory(nullptr, 10, nullptr, &m));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT,
                mixcon_model_load_memory(bytes_->data(), -1, nullptr, &m));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT,
                mixcon_model_load_memory(bytes_->data(), 10, nullptr, nullptr));
  const uint8_t junk[64] = {1, 2, 3};
  EXPECT_STATUS(MIXCON_ERR_FORMAT, mixcon_model_load_memory(junk, sizeof junk, nullptr, &m));
  EXPECT_EQ(m, reinterpret_cast<mixcon_model*>(0x1));

  mixcon_model_options o;
  ASSERT_EQ(mixcon_model_options_init(&o), MIXCON_OK);
  EXPECT_EQ(o.struct_size, sizeof o);
  EXPECT_EQ(o.verify_checksums, 1);
  EXPECT_EQ(o.use_mmap, 1);
  const auto load = [&](const mixcon_model_options& opts) {
    mixcon_model* mm = nullptr;
    const mixcon_status st = mixcon_model_load_memory(
        bytes_->data(), static_cast<int64_t>(bytes_->size()), &opts, &mm);
    mixcon_model_free(mm);
    return st;
  };
  auto bad = o;
  bad.device = 7;
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, load(bad));
  bad = o;
  bad.n_threads = -2;
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, load(bad));
  bad = o;
  bad.device_index = -1;
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, load(bad));
  if (!mixcon_backend_available(MIXCON_DEVICE_CUDA)) {
    bad = o;
    bad.device = MIXCON_DEVICE_CUDA;
#ifdef MIXCON_HAVE_CUDA
    // A CUDA build on a machine without a usable GPU or driver: the CUDA
    // runtime's own message comes back under BACKEND (issue 5).
    EXPECT_STATUS(MIXCON_ERR_BACKEND, load(bad));
    EXPECT_NE(std::string(mixcon_last_error()).find("cuda"), std::string::npos)
        << mixcon_last_error();
#else
    // A build without the CUDA backend cannot serve the device at all.
    EXPECT_STATUS(MIXCON_ERR_UNSUPPORTED, load(bad));
#endif
    bad.device = MIXCON_DEVICE_AUTO;  // falls back to the CPU
    EXPECT_STATUS(MIXCON_OK, load(bad));
  }
  bad = o;
  bad.struct_size = 2;  // not even the first field
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, load(bad));
  bad.struct_size = 0;
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, load(bad));
}

TEST_F(CapiMisuse, ModelOptionsReadOnlyTheFieldsStructSizeCovers) {
  mixcon_model_options o;
  mixcon_model_options_init(&o);
  // An old caller whose struct ends after `device`: the garbage after it must
  // not be read.
  o.struct_size = offsetof(mixcon_model_options, device_index);
  o.device_index = -99;
  o.n_threads = -99;
  o.progress = reinterpret_cast<mixcon_progress_callback>(0x1);
  mixcon_model* m = nullptr;
  EXPECT_STATUS(MIXCON_OK, mixcon_model_load_memory(bytes_->data(),
                                                    static_cast<int64_t>(bytes_->size()), &o, &m));
  mixcon_model_free(m);
  // A newer caller's larger struct is fine too.
  struct Bigger {
    mixcon_model_options base;
    int64_t future_field;
  } big;
  mixcon_model_options_init(&big.base);
  big.base.struct_size = sizeof big;
  big.future_field = 123;
  EXPECT_STATUS(MIXCON_OK, mixcon_model_load_memory(bytes_->data(),
                                                    static_cast<int64_t>(bytes_->size()),
                                                    &big.base, &m));
  mixcon_model_free(m);
}

TEST_F(CapiMisuse, ProgressCallbackCanCancelTheLoad) {
  struct Progress {
    std::vector<float> seen;
    int cancel_after;
  } p{{}, 0};
  mixcon_model_options o;
  mixcon_model_options_init(&o);
  o.progress = [](float f, void* user) {
    auto* pp = static_cast<Progress*>(user);
    pp->seen.push_back(f);
    return static_cast<int>(pp->seen.size()) > pp->cancel_after ? 1 : 0;
  };
  o.progress_user = &p;
  mixcon_model* m = nullptr;
  EXPECT_STATUS(MIXCON_ERR_CANCELLED,
                mixcon_model_load_memory(bytes_->data(), static_cast<int64_t>(bytes_->size()),
                                         &o, &m));
  EXPECT_EQ(m, nullptr);
  EXPECT_GE(p.seen.size(), 1u);
  // Without cancelling, the fractions never go down and stay in [0, 1].
  p.seen.clear();
  p.cancel_after = 1 << 30;
  EXPECT_STATUS(MIXCON_OK, mixcon_model_load_memory(bytes_->data(),
                                                    static_cast<int64_t>(bytes_->size()), &o, &m));
  mixcon_model_free(m);
  ASSERT_FALSE(p.seen.empty());
  for (size_t i = 0; i < p.seen.size(); ++i) {
    EXPECT_GE(p.seen[i], 0.0f);
    EXPECT_LE(p.seen[i], 1.0f);
    if (i) EXPECT_GE(p.seen[i], p.seen[i - 1]);
  }
}

TEST_F(CapiMisuse, ModelInfo) {
  mixcon_model_info_t info;
  ASSERT_EQ(mixcon_model_info_init(&info), MIXCON_OK);
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_model_info(nullptr, &info));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_model_info(model_, nullptr));
  info.struct_size = 3;
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_model_info(model_, &info));
  mixcon_model_info_init(&info);
  EXPECT_STATUS(MIXCON_OK, mixcon_model_info(model_, &info));
  EXPECT_EQ(info.n_vocab, 512);
  EXPECT_EQ(info.d_model, 64);
  EXPECT_EQ(info.n_layers, 8);
  EXPECT_EQ(info.n_attention_layers, 2);
  EXPECT_EQ(info.n_conba_layers, 6);
  EXPECT_EQ(info.n_moe_layers, 4);
  EXPECT_EQ(info.max_context, 4096);
  EXPECT_GT(info.n_params, 0);
  EXPECT_GT(info.weight_bytes, 0);
  EXPECT_EQ(info.weight_dtype, MIXCON_DTYPE_F32);
  EXPECT_EQ(info.device, MIXCON_DEVICE_CPU);
  EXPECT_EQ(info.has_tokenizer, 0);
  EXPECT_EQ(info.max_piece_bytes, 0);
  // An older, shorter struct: nothing past its end is written.
  mixcon_model_info_t partial;
  std::memset(&partial, 0x5A, sizeof partial);
  partial.struct_size = offsetof(mixcon_model_info_t, d_model);
  EXPECT_STATUS(MIXCON_OK, mixcon_model_info(model_, &partial));
  EXPECT_EQ(partial.n_vocab, 512);
  int64_t sentinel;
  std::memset(&sentinel, 0x5A, sizeof sentinel);
  EXPECT_EQ(partial.d_model, sentinel);
}

TEST_F(CapiMisuse, ModelAccessors) {
  EXPECT_EQ(mixcon_model_n_vocab(nullptr), -1);
  EXPECT_EQ(mixcon_model_n_vocab(model_), 512);
  EXPECT_EQ(mixcon_model_metadata_json(nullptr), nullptr);
  EXPECT_EQ(mixcon_model_config_json(nullptr), nullptr);
  EXPECT_STREQ(mixcon_model_metadata_json(model_), R"({"name":"capi-test","seed":7})");
  const std::string config = mixcon_model_config_json(model_);
  EXPECT_NE(config.find("\"vocab_size\":512"), std::string::npos) << config;
}

TEST_F(CapiMisuse, TextCallsWithoutTokenizerAreUnsupported) {
  int64_t n = -1;
  int32_t ids[4];
  char buf[16];
  const int32_t tok[] = {1, 2};
  EXPECT_STATUS(MIXCON_ERR_UNSUPPORTED, mixcon_tokenize(model_, "hi", 2, 0, ids, 4, &n));
  EXPECT_NE(std::string(mixcon_last_error()).find("tokenizer"), std::string::npos);
  EXPECT_STATUS(MIXCON_ERR_UNSUPPORTED, mixcon_detokenize(model_, tok, 2, buf, 16, &n));
  EXPECT_STATUS(MIXCON_ERR_UNSUPPORTED, mixcon_token_to_piece(model_, 1, buf, 16, &n));
  EXPECT_STATUS(MIXCON_ERR_UNSUPPORTED, mixcon_session_feed_text(session_, "hi", 2));
  EXPECT_EQ(mixcon_session_position(session_), 0);
  ASSERT_EQ(mixcon_session_feed(session_, tok, 2), MIXCON_OK);
  EXPECT_STATUS(MIXCON_ERR_UNSUPPORTED,
                mixcon_session_next_text(session_, sampler_, buf, 16, &n, nullptr));
  EXPECT_EQ(mixcon_session_position(session_), 2);
  EXPECT_STATUS(MIXCON_ERR_UNSUPPORTED, mixcon_session_flush_text(session_, buf, 16, &n));
}

TEST_F(CapiMisuse, TokenizerArgumentChecks) {
  int64_t n = 0;
  int32_t ids[4];
  char buf[8];
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_tokenize(nullptr, "a", 1, 0, ids, 4, &n));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_tokenize(model_, "a", 1, 0, ids, 4, nullptr));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_tokenize(model_, "a", -1, 0, ids, 4, &n));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_tokenize(model_, nullptr, 1, 0, ids, 4, &n));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_tokenize(model_, "a", 1, 2, ids, 4, &n));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_tokenize(model_, "a", 1, 0, nullptr, 4, &n));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_tokenize(model_, "a", 1, 0, ids, -4, &n));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_detokenize(nullptr, ids, 0, buf, 8, &n));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_detokenize(model_, nullptr, 3, buf, 8, &n));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_detokenize(model_, ids, -3, buf, 8, &n));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_detokenize(model_, ids, 0, buf, 8, nullptr));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_detokenize(model_, ids, 0, nullptr, 8, &n));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_token_to_piece(nullptr, 1, buf, 8, &n));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_token_to_piece(model_, 1, buf, -1, &n));
}

TEST_F(CapiMisuse, SamplerArguments) {
  mixcon_sampler_options o;
  ASSERT_EQ(mixcon_sampler_options_init(&o), MIXCON_OK);
  EXPECT_EQ(o.struct_size, sizeof o);
  EXPECT_FLOAT_EQ(o.temperature, 0.8f);
  EXPECT_EQ(o.top_k, 40);
  EXPECT_EQ(o.repetition_window, 64);
  mixcon_sampler* s = reinterpret_cast<mixcon_sampler*>(0x1);
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_sampler_create(&o, nullptr));
  auto bad = o;
  bad.temperature = -1.0f;
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_sampler_create(&bad, &s));
  EXPECT_NE(std::string(mixcon_last_error()).find("temperature"), std::string::npos);
  bad = o;
  bad.top_p = 0.0f;
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_sampler_create(&bad, &s));
  bad = o;
  bad.repetition_window = -5;
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_sampler_create(&bad, &s));
  bad = o;
  bad.struct_size = 1;
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_sampler_create(&bad, &s));
  EXPECT_EQ(s, reinterpret_cast<mixcon_sampler*>(0x1));
  // Covering only the temperature: the rest are defaults, not garbage.
  bad = o;
  bad.struct_size = offsetof(mixcon_sampler_options, top_k);
  bad.temperature = 0.0f;
  bad.top_k = -77;
  EXPECT_STATUS(MIXCON_OK, mixcon_sampler_create(&bad, &s));
  mixcon_sampler_free(s);
}

TEST_F(CapiMisuse, SessionCreateArguments) {
  mixcon_session* s = nullptr;
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_create(nullptr, nullptr, &s));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_create(model_, nullptr, nullptr));
  mixcon_session_options o;
  ASSERT_EQ(mixcon_session_options_init(&o), MIXCON_OK);
  auto bad = o;
  bad.max_context = 4097;
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_create(model_, &bad, &s));
  bad.max_context = -1;
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_create(model_, &bad, &s));
  bad = o;
  bad.n_threads = -1;
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_create(model_, &bad, &s));
  bad = o;
  bad.struct_size = 0;
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_create(model_, &bad, &s));
  bad = o;
  bad.kv_dtype = 4;  // not a mixcon_dtype
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_create(model_, &bad, &s));
  bad.kv_dtype = -1;
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_create(model_, &bad, &s));
  bad.kv_dtype = MIXCON_DTYPE_Q8_0;
  EXPECT_STATUS(MIXCON_ERR_UNSUPPORTED, mixcon_session_create(model_, &bad, &s));
  EXPECT_NE(std::string(mixcon_last_error()).find("kv_dtype"), std::string::npos) << mixcon_last_error();
  bad = o;
  bad.activation_dtype = 4;  // not a mixcon_dtype
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_create(model_, &bad, &s));
  EXPECT_NE(std::string(mixcon_last_error()).find("activation_dtype"), std::string::npos)
      << mixcon_last_error();
  bad.activation_dtype = MIXCON_DTYPE_F16;  // a dtype, but no activation type
  EXPECT_STATUS(MIXCON_ERR_UNSUPPORTED, mixcon_session_create(model_, &bad, &s));
  EXPECT_NE(std::string(mixcon_last_error()).find("activation_dtype"), std::string::npos)
      << mixcon_last_error();
  bad = o;
  bad.prefill_chunk = -1;
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_create(model_, &bad, &s));
  EXPECT_NE(std::string(mixcon_last_error()).find("prefill_chunk"), std::string::npos)
      << mixcon_last_error();
  EXPECT_EQ(s, nullptr);
  o.max_context = 16;
  ASSERT_EQ(mixcon_session_create(model_, &o, &s), MIXCON_OK);
  EXPECT_EQ(mixcon_session_max_context(s), 16);
  mixcon_session_free(s);
}

// A program built against the header before kv_dtype existed passes a
// shorter struct: the field it does not have takes its default (f32), even
// if the bytes after its struct say otherwise.
TEST_F(CapiMisuse, SessionOptionsFromAnOlderHeaderGetAnF32Cache) {
  mixcon_session_options o, f16;
  ASSERT_EQ(mixcon_session_options_init(&o), MIXCON_OK);
  EXPECT_EQ(o.kv_dtype, MIXCON_DTYPE_F32);
  o.max_context = 1024;  // well above the prefill chunk the f16 cache stages in f32
  f16 = o;
  f16.kv_dtype = MIXCON_DTYPE_F16;
  mixcon_session *full = nullptr, *old = nullptr, *narrow = nullptr;
  ASSERT_EQ(mixcon_session_create(model_, &o, &full), MIXCON_OK);
  ASSERT_EQ(mixcon_session_create(model_, &f16, &narrow), MIXCON_OK);
  mixcon_session_options older = f16;  // kv_dtype = F16 lies past struct_size
  older.struct_size = offsetof(mixcon_session_options, kv_dtype);
  ASSERT_EQ(mixcon_session_create(model_, &older, &old), MIXCON_OK);
  EXPECT_EQ(mixcon_session_memory_bytes(old), mixcon_session_memory_bytes(full));
  EXPECT_LT(mixcon_session_memory_bytes(narrow), mixcon_session_memory_bytes(full));
  mixcon_session_free(full);
  mixcon_session_free(old);
  mixcon_session_free(narrow);
}

// The same for a header from before prefill_chunk: the default chunk, not
// the (negative) bytes past the caller's struct.
TEST_F(CapiMisuse, SessionOptionsFromAnOlderHeaderGetTheDefaultChunk) {
  mixcon_session_options o;
  ASSERT_EQ(mixcon_session_options_init(&o), MIXCON_OK);
  EXPECT_EQ(o.prefill_chunk, 0);
  o.max_context = 1024;
  mixcon_session_options small = o, older = o;
  small.prefill_chunk = 16;
  older.prefill_chunk = -7;
  older.struct_size = offsetof(mixcon_session_options, prefill_chunk);
  mixcon_session *def = nullptr, *old = nullptr, *sm = nullptr;
  ASSERT_EQ(mixcon_session_create(model_, &o, &def), MIXCON_OK);
  ASSERT_EQ(mixcon_session_create(model_, &older, &old), MIXCON_OK) << mixcon_last_error();
  ASSERT_EQ(mixcon_session_create(model_, &small, &sm), MIXCON_OK);
  EXPECT_EQ(mixcon_session_memory_bytes(old), mixcon_session_memory_bytes(def));
  EXPECT_LT(mixcon_session_memory_bytes(sm), mixcon_session_memory_bytes(def));
  mixcon_session_free(def);
  mixcon_session_free(old);
  mixcon_session_free(sm);
}

// And from before activation_dtype: exact products, not the int8 ones the
// bytes past the caller's struct ask for (the int8 buffer would show in the
// session's memory).
TEST_F(CapiMisuse, SessionOptionsFromAnOlderHeaderGetExactProducts) {
  mixcon_session_options o;
  ASSERT_EQ(mixcon_session_options_init(&o), MIXCON_OK);
  EXPECT_EQ(o.activation_dtype, MIXCON_DTYPE_F32);
  mixcon_session_options q8 = o, older = o;
  q8.activation_dtype = MIXCON_DTYPE_Q8_0;
  older.activation_dtype = MIXCON_DTYPE_Q8_0;
  older.struct_size = offsetof(mixcon_session_options, activation_dtype);
  mixcon_session *def = nullptr, *old = nullptr, *i8 = nullptr;
  ASSERT_EQ(mixcon_session_create(model_, &o, &def), MIXCON_OK);
  ASSERT_EQ(mixcon_session_create(model_, &older, &old), MIXCON_OK) << mixcon_last_error();
  ASSERT_EQ(mixcon_session_create(model_, &q8, &i8), MIXCON_OK) << mixcon_last_error();
  EXPECT_EQ(mixcon_session_memory_bytes(old), mixcon_session_memory_bytes(def));
  EXPECT_GT(mixcon_session_memory_bytes(i8), mixcon_session_memory_bytes(def));
  mixcon_session_free(def);
  mixcon_session_free(old);
  mixcon_session_free(i8);
}

TEST_F(CapiMisuse, EverySessionCallRejectsANullSession) {
  const int32_t t = 1;
  int32_t tok = 0;
  int64_t n = 0;
  const float* logits = nullptr;
  char buf[8];
  uint8_t state[8];
  float rows[512];
  mixcon_session* copy = nullptr;
  const mixcon_status e = MIXCON_ERR_INVALID_ARGUMENT;
  EXPECT_STATUS(e, mixcon_session_reset(nullptr));
  EXPECT_STATUS(e, mixcon_session_feed(nullptr, &t, 1));
  EXPECT_STATUS(e, mixcon_session_feed_all_logits(nullptr, &t, 1, rows, 512));
  EXPECT_STATUS(e, mixcon_session_feed_text(nullptr, "a", 1));
  EXPECT_STATUS(e, mixcon_session_logits(nullptr, &logits, &n));
  EXPECT_STATUS(e, mixcon_session_sample(nullptr, sampler_, &tok));
  EXPECT_STATUS(e, mixcon_session_step(nullptr, sampler_, &tok));
  EXPECT_STATUS(e, mixcon_session_next_text(nullptr, sampler_, buf, 8, &n, &tok));
  EXPECT_STATUS(e, mixcon_session_flush_text(nullptr, buf, 8, &n));
  EXPECT_STATUS(e, mixcon_session_tokens(nullptr, &tok, 1, &n));
  EXPECT_STATUS(e, mixcon_session_state_save(nullptr, state, 8, &n));
  EXPECT_STATUS(e, mixcon_session_state_load(nullptr, state, 8));
  EXPECT_STATUS(e, mixcon_session_fork(nullptr, &copy));
  EXPECT_STATUS(e, mixcon_session_cancel(nullptr));
  EXPECT_EQ(mixcon_session_position(nullptr), -1);
  EXPECT_EQ(mixcon_session_max_context(nullptr), -1);
  EXPECT_EQ(mixcon_session_memory_bytes(nullptr), -1);
  EXPECT_EQ(mixcon_session_state_size(nullptr), -1);
  EXPECT_EQ(copy, nullptr);
}

TEST_F(CapiMisuse, FeedRejectsBadTokensAndChangesNothing) {
  const int32_t good[] = {1, 2, 3};
  ASSERT_EQ(mixcon_session_feed(session_, good, 3), MIXCON_OK);
  const float* before = nullptr;
  int64_t n_vocab = 0;
  ASSERT_EQ(mixcon_session_logits(session_, &before, &n_vocab), MIXCON_OK);
  const std::vector<float> saved(before, before + n_vocab);

  const int32_t bad[] = {4, 512, 5};
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_feed(session_, bad, 3));
  EXPECT_NE(std::string(mixcon_last_error()).find("tokens[1] = 512"), std::string::npos)
      << mixcon_last_error();
  const int32_t negative[] = {-1};
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_feed(session_, negative, 1));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_feed(session_, good, -1));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_feed(session_, nullptr, 2));
  EXPECT_STATUS(MIXCON_OK, mixcon_session_feed(session_, nullptr, 0));
  EXPECT_EQ(mixcon_session_position(session_), 3);
  const float* after = nullptr;
  ASSERT_EQ(mixcon_session_logits(session_, &after, nullptr), MIXCON_OK);
  EXPECT_EQ(std::vector<float>(after, after + n_vocab), saved);
}

TEST_F(CapiMisuse, FeedAllLogitsNeedsRoomForEveryRow) {
  const int32_t t[] = {1, 2, 3};
  std::vector<float> rows(3 * 512);
  EXPECT_STATUS(MIXCON_ERR_BUFFER_TOO_SMALL,
                mixcon_session_feed_all_logits(session_, t, 3, rows.data(), 3 * 512 - 1));
  EXPECT_NE(std::string(mixcon_last_error()).find("1536"), std::string::npos)
      << mixcon_last_error();
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT,
                mixcon_session_feed_all_logits(session_, t, 3, nullptr, 0));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT,
                mixcon_session_feed_all_logits(session_, t, 3, rows.data(), -1));
  EXPECT_EQ(mixcon_session_position(session_), 0);
  EXPECT_STATUS(MIXCON_OK, mixcon_session_feed_all_logits(session_, t, 3, rows.data(), 3 * 512));
  EXPECT_EQ(mixcon_session_position(session_), 3);
}

TEST_F(CapiMisuse, NoLogitsBeforeTheFirstFeed) {
  const float* logits = nullptr;
  int32_t tok = -1;
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_logits(session_, &logits, nullptr));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_sample(session_, sampler_, &tok));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_step(session_, sampler_, &tok));
  EXPECT_EQ(mixcon_session_position(session_), 0);
  const int32_t t = 5;
  ASSERT_EQ(mixcon_session_feed(session_, &t, 1), MIXCON_OK);
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_logits(session_, nullptr, nullptr));
  EXPECT_STATUS(MIXCON_OK, mixcon_session_logits(session_, &logits, nullptr));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_sample(session_, nullptr, &tok));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_sample(session_, sampler_, nullptr));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_step(session_, nullptr, &tok));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_step(session_, sampler_, nullptr));
  EXPECT_EQ(mixcon_session_position(session_), 1);
  ASSERT_EQ(mixcon_session_reset(session_), MIXCON_OK);
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_logits(session_, &logits, nullptr));
}

TEST_F(CapiMisuse, ShortBuffersReportTheNeededSize) {
  const int32_t t[] = {1, 2, 3, 4};
  ASSERT_EQ(mixcon_session_feed(session_, t, 4), MIXCON_OK);
  int64_t n = -1;
  int32_t ids[4];
  EXPECT_STATUS(MIXCON_ERR_BUFFER_TOO_SMALL, mixcon_session_tokens(session_, nullptr, 0, &n));
  EXPECT_EQ(n, 4);
  EXPECT_STATUS(MIXCON_ERR_BUFFER_TOO_SMALL, mixcon_session_tokens(session_, ids, 3, &n));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_tokens(session_, ids, 4, nullptr));
  EXPECT_STATUS(MIXCON_OK, mixcon_session_tokens(session_, ids, 4, &n));
  EXPECT_EQ(std::vector<int32_t>(ids, ids + 4), std::vector<int32_t>(t, t + 4));

  const int64_t size = mixcon_session_state_size(session_);
  ASSERT_GT(size, 0);
  EXPECT_STATUS(MIXCON_ERR_BUFFER_TOO_SMALL, mixcon_session_state_save(session_, nullptr, 0, &n));
  EXPECT_EQ(n, size);
  std::vector<uint8_t> buf(static_cast<size_t>(size));
  EXPECT_STATUS(MIXCON_ERR_BUFFER_TOO_SMALL,
                mixcon_session_state_save(session_, buf.data(), size - 1, &n));
  EXPECT_EQ(n, size);
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT,
                mixcon_session_state_save(session_, buf.data(), size, nullptr));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT,
                mixcon_session_state_save(session_, nullptr, size, &n));
  EXPECT_STATUS(MIXCON_OK, mixcon_session_state_save(session_, buf.data(), size, &n));
  EXPECT_EQ(n, size);
}

TEST_F(CapiMisuse, DamagedStatesAreRejectedAndChangeNothing) {
  const int32_t t[] = {1, 2, 3, 4};
  ASSERT_EQ(mixcon_session_feed(session_, t, 4), MIXCON_OK);
  std::vector<uint8_t> buf(static_cast<size_t>(mixcon_session_state_size(session_)));
  int64_t n = 0;
  ASSERT_EQ(mixcon_session_state_save(session_, buf.data(), static_cast<int64_t>(buf.size()), &n),
            MIXCON_OK);
  ASSERT_EQ(mixcon_session_feed(session_, t, 2), MIXCON_OK);

  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_state_load(session_, buf.data(), -1));
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_state_load(session_, nullptr, 10));
  const uint8_t junk[32] = {9, 9, 9};
  EXPECT_NE(mixcon_session_state_load(session_, junk, sizeof junk), MIXCON_OK);
  EXPECT_NE(mixcon_session_state_load(session_, buf.data(), n / 2), MIXCON_OK);  // truncated
  auto flipped = buf;
  flipped[flipped.size() / 2] ^= 0x40;
  const mixcon_status st = mixcon_session_state_load(session_, flipped.data(), n);
  EXPECT_TRUE(st == MIXCON_ERR_CHECKSUM || st == MIXCON_ERR_FORMAT) << mixcon_status_string(st);
  EXPECT_EQ(mixcon_session_position(session_), 6);
  EXPECT_STATUS(MIXCON_OK, mixcon_session_state_load(session_, buf.data(), n));
  EXPECT_EQ(mixcon_session_position(session_), 4);
}

TEST_F(CapiMisuse, ForkAndCancelArguments) {
  EXPECT_STATUS(MIXCON_ERR_INVALID_ARGUMENT, mixcon_session_fork(session_, nullptr));
  EXPECT_STATUS(MIXCON_OK, mixcon_session_cancel(session_));
  // The pending cancel stops the next feed before it changes anything ...
  const int32_t t = 3;
  EXPECT_STATUS(MIXCON_ERR_CANCELLED, mixcon_session_feed(session_, &t, 1));
  EXPECT_EQ(mixcon_session_position(session_), 0);
  // ... and is consumed by it.
  EXPECT_STATUS(MIXCON_OK, mixcon_session_feed(session_, &t, 1));
  // reset drops a pending cancel.
  EXPECT_STATUS(MIXCON_OK, mixcon_session_cancel(session_));
  EXPECT_STATUS(MIXCON_OK, mixcon_session_reset(session_));
  EXPECT_STATUS(MIXCON_OK, mixcon_session_feed(session_, &t, 1));
}

TEST_F(CapiMisuse, ModelMayBeFreedBeforeItsSessions) {
  mixcon_session* s = nullptr;
  ASSERT_EQ(mixcon_session_create(model_, nullptr, &s), MIXCON_OK);
  mixcon_model_free(model_);
  model_ = nullptr;
  const int32_t t[] = {1, 2, 3};
  EXPECT_STATUS(MIXCON_OK, mixcon_session_feed(s, t, 3));
  int32_t tok = -1;
  EXPECT_STATUS(MIXCON_OK, mixcon_session_step(s, sampler_, &tok));
  EXPECT_GE(tok, 0);
  mixcon_session* copy = nullptr;
  EXPECT_STATUS(MIXCON_OK, mixcon_session_fork(s, &copy));
  mixcon_session_free(s);
  EXPECT_STATUS(MIXCON_OK, mixcon_session_step(copy, sampler_, &tok));
  mixcon_session_free(copy);
}

}  // namespace
