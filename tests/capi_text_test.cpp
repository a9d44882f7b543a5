// Text through the C ABI: tokenize/detokenize with the size-query
// convention, and the streamed pieces of mixcon_session_next_text.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "capi_test_models.h"
#include "core/tokenizer/utf8.h"
#include "mixcon.h"

namespace {

class CapiText : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { file_ = new capi_test::TempModel(capi_test::tiny_model(5, true), "text"); }
  static void TearDownTestSuite() {
    delete file_;
    file_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(mixcon_model_load(file_->path().c_str(), nullptr, &model_), MIXCON_OK)
        << mixcon_last_error();
    mixcon_model_info_init(&info_);
    ASSERT_EQ(mixcon_model_info(model_, &info_), MIXCON_OK);
  }
  void TearDown() override { mixcon_model_free(model_); }

  std::vector<int32_t> tokenize(const std::string& text, int32_t add_bos) {
    int64_t n = -1;
    EXPECT_EQ(mixcon_tokenize(model_, text.data(), static_cast<int64_t>(text.size()), add_bos,
                              nullptr, 0, &n),
              text.empty() && add_bos == 0 ? MIXCON_OK : MIXCON_ERR_BUFFER_TOO_SMALL);
    std::vector<int32_t> ids(static_cast<size_t>(n));
    int64_t n2 = -1;
    EXPECT_EQ(mixcon_tokenize(model_, text.data(), static_cast<int64_t>(text.size()), add_bos,
                              ids.data(), n, &n2),
              MIXCON_OK);
    EXPECT_EQ(n, n2);
    return ids;
  }
  std::string detokenize(const std::vector<int32_t>& ids) {
    int64_t len = -1;
    const mixcon_status st =
        mixcon_detokenize(model_, ids.data(), static_cast<int64_t>(ids.size()), nullptr, 0, &len);
    EXPECT_TRUE(st == MIXCON_OK || st == MIXCON_ERR_BUFFER_TOO_SMALL);
    std::string out(static_cast<size_t>(len) + 1, '\x7f');
    EXPECT_EQ(mixcon_detokenize(model_, ids.data(), static_cast<int64_t>(ids.size()), &out[0],
                                len + 1, &len),
              MIXCON_OK);
    EXPECT_EQ(out[static_cast<size_t>(len)], '\0');  // NUL added when there is room
    out.resize(static_cast<size_t>(len));
    return out;
  }

  static capi_test::TempModel* file_;
  mixcon_model* model_ = nullptr;
  mixcon_model_info_t info_;
};
capi_test::TempModel* CapiText::file_ = nullptr;

const std::string kEmojiText = "caf\xC3\xA9 \xF0\x9F\x98\x80 na\xC3\xAFve \xE2\x82\xAC";  // café 😀 naïve €

TEST_F(CapiText, InfoDescribesTheTokenizer) {
  EXPECT_EQ(info_.has_tokenizer, 1);
  EXPECT_EQ(info_.bos_id, 1);
  EXPECT_EQ(info_.eos_id, 2);
  EXPECT_EQ(info_.unk_id, 0);
  EXPECT_EQ(info_.add_bos, 1);
  EXPECT_GT(info_.max_piece_bytes, 12);
}

TEST_F(CapiText, TokenizeDetokenizeRoundTrip) {
  const auto ids = tokenize(kEmojiText, 0);
  EXPECT_EQ(detokenize(ids), kEmojiText);
  const auto with_bos = tokenize(kEmojiText, 1);
  ASSERT_EQ(with_bos.size(), ids.size() + 1);
  EXPECT_EQ(with_bos[0], 1);
  EXPECT_EQ(tokenize(kEmojiText, -1), with_bos);  // the model's default adds BOS
  EXPECT_EQ(detokenize(with_bos), kEmojiText);
}

TEST_F(CapiText, ShortBuffersReportTheirNeed) {
  const auto ids = tokenize(kEmojiText, 0);
  int64_t n = -1;
  std::vector<int32_t> small(ids.size() - 1);
  EXPECT_EQ(mixcon_tokenize(model_, kEmojiText.data(), static_cast<int64_t>(kEmojiText.size()), 0,
                            small.data(), static_cast<int64_t>(small.size()), &n),
            MIXCON_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(n, static_cast<int64_t>(ids.size()));
  char buf[4];
  int64_t len = -1;
  EXPECT_EQ(mixcon_detokenize(model_, ids.data(), static_cast<int64_t>(ids.size()), buf, 4, &len),
            MIXCON_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(len, static_cast<int64_t>(kEmojiText.size()));
  // Exactly the text's size is enough (the NUL is optional).
  std::string exact(kEmojiText.size(), '\0');
  EXPECT_EQ(mixcon_detokenize(model_, ids.data(), static_cast<int64_t>(ids.size()), &exact[0],
                              len, &len),
            MIXCON_OK);
  EXPECT_EQ(exact, kEmojiText);
}

TEST_F(CapiText, InvalidInputIsRejected) {
  int64_t n = 0;
  int32_t ids[8];
  EXPECT_EQ(mixcon_tokenize(model_, "ok\xFF", 3, 0, ids, 8, &n), MIXCON_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mixcon_last_error()).find("offset 2"), std::string::npos);
  const int32_t bad[] = {3, static_cast<int32_t>(info_.n_vocab)};
  char buf[32];
  EXPECT_EQ(mixcon_detokenize(model_, bad, 2, buf, 32, &n), MIXCON_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mixcon_token_to_piece(model_, -1, buf, 32, &n), MIXCON_ERR_INVALID_ARGUMENT);
}

TEST_F(CapiText, TokenToPiece) {
  const auto ids = tokenize("\xF0\x9F\x98\x80", 0);  // byte fallback
  char buf[16];
  int64_t len = -1;
  ASSERT_EQ(mixcon_token_to_piece(model_, ids.back(), buf, 16, &len), MIXCON_OK);
  ASSERT_EQ(len, 1);
  EXPECT_EQ(static_cast<uint8_t>(buf[0]), 0x80);
  ASSERT_EQ(mixcon_token_to_piece(model_, info_.bos_id, buf, 16, &len), MIXCON_OK);
  EXPECT_EQ(len, 0);
}

// Streams `steps` pieces after `prompt` and checks them against detokenize.
void check_stream(mixcon_model* model, const mixcon_model_info_t& info, const std::string& prompt,
                  float temperature, int64_t seed, int steps) {
  mixcon_session* s = nullptr;
  ASSERT_EQ(mixcon_session_create(model, nullptr, &s), MIXCON_OK);
  mixcon_sampler_options so;
  mixcon_sampler_options_init(&so);
  so.temperature = temperature;
  so.top_k = 0;
  so.top_p = 1.0f;
  so.min_p = 0.0f;
  so.seed = seed;
  mixcon_sampler* sampler = nullptr;
  ASSERT_EQ(mixcon_sampler_create(&so, &sampler), MIXCON_OK);
  ASSERT_EQ(mixcon_session_feed_text(s, prompt.data(), static_cast<int64_t>(prompt.size())),
            MIXCON_OK);
  std::vector<int32_t> history(static_cast<size_t>(mixcon_session_position(s)));
  int64_t n = 0;
  mixcon_session_tokens(s, history.data(), static_cast<int64_t>(history.size()), &n);
  EXPECT_EQ(history[0], info.bos_id);  // feed_text at position 0 adds the BOS

  std::string pieces;
  std::vector<char> buf(static_cast<size_t>(info.max_piece_bytes));
  for (int i = 0; i < steps; ++i) {
    int64_t len = -1;
    int32_t tok = -1;
    ASSERT_EQ(mixcon_session_next_text(s, sampler, buf.data(), static_cast<int64_t>(buf.size()),
                                       &len, &tok),
              MIXCON_OK)
        << mixcon_last_error();
    const std::string piece(buf.data(), static_cast<size_t>(len));
    int64_t bad = -1;
    EXPECT_TRUE(mixcon::utf8_validate(piece, &bad)) << "piece " << i << " splits a character";
    pieces += piece;
  }
  int64_t len = -1;
  ASSERT_EQ(mixcon_session_flush_text(s, buf.data(), static_cast<int64_t>(buf.size()), &len),
            MIXCON_OK);
  pieces += std::string(buf.data(), static_cast<size_t>(len));

  std::vector<int32_t> all(static_cast<size_t>(mixcon_session_position(s)));
  mixcon_session_tokens(s, all.data(), static_cast<int64_t>(all.size()), &n);
  const auto text_of = [&](const std::vector<int32_t>& ids) {
    int64_t l = 0;
    mixcon_detokenize(model, ids.data(), static_cast<int64_t>(ids.size()), nullptr, 0, &l);
    std::string t(static_cast<size_t>(l), '\0');
    EXPECT_EQ(mixcon_detokenize(model, ids.data(), static_cast<int64_t>(ids.size()), &t[0], l, &l),
              MIXCON_OK);
    return t;
  };
  EXPECT_EQ(text_of(history) + pieces, text_of(all));
  mixcon_sampler_free(sampler);
  mixcon_session_free(s);
}

TEST_F(CapiText, StreamedPiecesConcatenateToTheDetokenizedText) {
  // A random model at a high temperature emits byte-fallback tokens, broken
  // sequences and specials freely: every rule of the stream gets exercised.
  for (int64_t seed = 1; seed <= 6; ++seed)
    check_stream(model_, info_, "hello world", 1.5f, seed, 60);
  check_stream(model_, info_, kEmojiText, 0.0f, 0, 30);
}

TEST_F(CapiText, ShortPieceBufferFeedsNothingAndRetriesTheSameToken) {
  const auto make = [&](mixcon_session** s, mixcon_sampler** sp) {
    ASSERT_EQ(mixcon_session_create(model_, nullptr, s), MIXCON_OK);
    mixcon_sampler_options so;
    mixcon_sampler_options_init(&so);
    so.temperature = 1.5f;
    so.seed = 3;
    ASSERT_EQ(mixcon_sampler_create(&so, sp), MIXCON_OK);
    ASSERT_EQ(mixcon_session_feed_text(*s, "the cat", 7), MIXCON_OK);
  };
  mixcon_session *a = nullptr, *b = nullptr;
  mixcon_sampler *sa = nullptr, *sb = nullptr;
  make(&a, &sa);
  make(&b, &sb);
  std::vector<char> buf(static_cast<size_t>(info_.max_piece_bytes));
  for (int i = 0; i < 20; ++i) {
    const int64_t pos = mixcon_session_position(a);
    int64_t need = -1, len = -1;
    int32_t ta = -1, tb = -2;
    const mixcon_status st = mixcon_session_next_text(a, sa, nullptr, 0, &need, &ta);
    if (st == MIXCON_ERR_BUFFER_TOO_SMALL) {
      EXPECT_GT(need, 0);
      EXPECT_EQ(mixcon_session_position(a), pos);
      ASSERT_EQ(mixcon_session_next_text(a, sa, buf.data(), need, &len, &ta), MIXCON_OK);
      EXPECT_EQ(len, need);
    } else {
      ASSERT_EQ(st, MIXCON_OK);  // an empty piece fits in nothing
      EXPECT_EQ(need, 0);
    }
    ASSERT_EQ(mixcon_session_next_text(b, sb, buf.data(), static_cast<int64_t>(buf.size()), &len,
                                       &tb),
              MIXCON_OK);
    EXPECT_EQ(ta, tb) << "step " << i;
  }
  mixcon_session_free(a);
  mixcon_session_free(b);
  mixcon_sampler_free(sa);
  mixcon_sampler_free(sb);
}

TEST_F(CapiText, StreamSurvivesStateLoadAndFork) {
  mixcon_session* s = nullptr;
  ASSERT_EQ(mixcon_session_create(model_, nullptr, &s), MIXCON_OK);
  mixcon_sampler_options so;
  mixcon_sampler_options_init(&so);
  so.temperature = 0.0f;
  mixcon_sampler* g = nullptr;
  mixcon_sampler_create(&so, &g);
  ASSERT_EQ(mixcon_session_feed_text(s, kEmojiText.data(), static_cast<int64_t>(kEmojiText.size())),
            MIXCON_OK);
  std::vector<uint8_t> state(static_cast<size_t>(mixcon_session_state_size(s)));
  int64_t n = 0;
  ASSERT_EQ(mixcon_session_state_save(s, state.data(), static_cast<int64_t>(state.size()), &n),
            MIXCON_OK);
  mixcon_session* f = nullptr;
  ASSERT_EQ(mixcon_session_fork(s, &f), MIXCON_OK);
  const auto gen = [&](mixcon_session* x) {
    std::string out;
    char buf[256];
    for (int i = 0; i < 12; ++i) {
      int64_t len = 0;
      EXPECT_EQ(mixcon_session_next_text(x, g, buf, sizeof buf, &len, nullptr), MIXCON_OK);
      out.append(buf, static_cast<size_t>(len));
    }
    return out;
  };
  const std::string original = gen(s);
  EXPECT_EQ(gen(f), original);
  mixcon_session* l = nullptr;
  ASSERT_EQ(mixcon_session_create(model_, nullptr, &l), MIXCON_OK);
  ASSERT_EQ(mixcon_session_state_load(l, state.data(), n), MIXCON_OK);
  EXPECT_EQ(gen(l), original);
  mixcon_session_free(s);
  mixcon_session_free(f);
  mixcon_session_free(l);
  mixcon_sampler_free(g);
}

}  // namespace
