// The tokenizer (core/tokenizer): SentencePiece encoding, our per-token
// decoding checked against SentencePiece's own DecodeIds, and the streaming
// UTF-8 decoder.
#include <gtest/gtest.h>
#include <sentencepiece_processor.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "capi_test_models.h"
#include "core/common/status.h"
#include "core/format/model_file.h"
#include "core/tokenizer/tokenizer.h"
#include "core/tokenizer/utf8.h"
#include "core/tokenizer/utf8_stream.h"

namespace mixcon {
namespace {

TokenizerSpec test_spec() {
  TokenizerSpec s;
  s.kind = "sentencepiece";
  s.blob = "tokenizer.model";
  s.unk_id = 0;
  s.bos_id = 1;
  s.eos_id = 2;
  s.add_bos = true;
  return s;
}

class TokenizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string& p = capi_test::tokenizer_proto();
    ASSERT_TRUE(sp_.LoadFromSerializedProto(p).ok());
    tok_ = std::make_unique<Tokenizer>(reinterpret_cast<const uint8_t*>(p.data()),
                                       static_cast<int64_t>(p.size()), test_spec(),
                                       sp_.GetPieceSize(), "test.mixc");
  }

  std::string sp_decode(const std::vector<int32_t>& ids) {
    return sp_.DecodeIds(std::vector<int>(ids.begin(), ids.end()));
  }

  // Streams ids through a Utf8Stream and checks every piece on the way.
  std::string stream_all(const std::vector<int32_t>& ids) {
    Utf8Stream stream(tok_.get());
    std::string all, piece;
    for (int32_t id : ids) {
      piece.clear();
      stream.push(id, &piece);
      EXPECT_LE(static_cast<int64_t>(piece.size()), tok_->max_piece_bytes());
      int64_t bad = -1;
      EXPECT_TRUE(utf8_validate(piece, &bad)) << "piece splits a character at byte " << bad;
      all += piece;
    }
    piece.clear();
    stream.flush(&piece);
    all += piece;
    return all;
  }

  std::vector<int32_t> encode(const std::string& text, bool bos = false) {
    std::vector<int32_t> ids;
    tok_->encode(text, bos, &ids);
    return ids;
  }

  sentencepiece::SentencePieceProcessor sp_;
  std::unique_ptr<Tokenizer> tok_;
};

const std::vector<std::string>& sample_texts() {
  static const std::vector<std::string> t = {
      "hello world",
      "the cat sat on the mat.",
      "Café naïve über déjà vu, señor garçon!",
      "emoji: \xF0\x9F\x98\x80 and \xF0\x9F\x8E\x89\xF0\x9F\x8E\x89 done",   // 😀 🎉🎉
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E text",                           // 日本語
      "x",
      "\xC3\xA9",                                                              // é alone
      "mixed \xF0\x9F\x98\x80\xC3\xA9\xE2\x82\xAC end",                        // 😀é€
  };
  return t;
}

TEST_F(TokenizerTest, RoundTripsText) {
  for (const std::string& text : sample_texts()) {
    const auto ids = encode(text);
    EXPECT_EQ(tok_->decode(ids.data(), static_cast<int64_t>(ids.size())), text);
    EXPECT_EQ(sp_decode(ids), text);
  }
}

TEST_F(TokenizerTest, EmojiUsesByteFallback) {
  const auto ids = encode("\xF0\x9F\x98\x80");
  int bytes = 0;
  for (int32_t id : ids) bytes += tok_->kind(id) == Tokenizer::PieceKind::Byte;
  EXPECT_EQ(bytes, 4);
  EXPECT_EQ(tok_->piece(ids.back()), "<0x80>");
}

TEST_F(TokenizerTest, BosIsPrependedOnRequest) {
  const auto with = encode("hello", true), without = encode("hello", false);
  ASSERT_EQ(with.size(), without.size() + 1);
  EXPECT_EQ(with[0], 1);
  EXPECT_EQ(tok_->decode(with.data(), static_cast<int64_t>(with.size())), "hello");
}

TEST_F(TokenizerTest, DecodeMatchesSentencePieceOnRandomSequences) {
  // Random ids, biased towards byte pieces and specials, exercise every rule:
  // broken and complete UTF-8 byte runs, controls inside byte runs, the
  // leading-space rule after invisible tokens, the unknown surface.
  std::mt19937 rng(42);
  const int32_t n = static_cast<int32_t>(tok_->n_vocab());
  std::vector<int32_t> bytes, text;
  for (int32_t id = 0; id < n; ++id)
    (tok_->kind(id) == Tokenizer::PieceKind::Byte ? bytes : text).push_back(id);
  // Pieces of real characters, so complete multi-byte sequences occur.
  const auto emoji = encode("\xF0\x9F\x98\x80");
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<int32_t> ids;
    const int len = 1 + static_cast<int>(rng() % 12);
    for (int k = 0; k < len; ++k) {
      switch (rng() % 6) {
        case 0: ids.push_back(static_cast<int32_t>(rng() % 3)); break;  // unk, bos, eos
        case 1: ids.push_back(bytes[rng() % bytes.size()]); break;
        case 2: ids.insert(ids.end(), emoji.begin(), emoji.end()); break;
        case 3: ids.push_back(emoji[rng() % emoji.size()]); break;
        default: ids.push_back(text[rng() % text.size()]); break;
      }
    }
    const std::string expect = sp_decode(ids);
    ASSERT_EQ(tok_->decode(ids.data(), static_cast<int64_t>(ids.size())), expect)
        << "sequence #" << iter;
    ASSERT_EQ(stream_all(ids), expect) << "sequence #" << iter;
  }
}

TEST_F(TokenizerTest, StreamNeverSplitsACharacterAndConcatenatesToDecode) {
  for (const std::string& text : sample_texts()) {
    const auto ids = encode(text, true);
    EXPECT_EQ(stream_all(ids), text);
  }
}

TEST_F(TokenizerTest, StreamHoldsIncompleteBytesBack) {
  const auto ids = encode("\xF0\x9F\x98\x80");  // ▁ + 4 byte pieces, or 4 byte pieces
  Utf8Stream stream(tok_.get());
  std::string piece;
  size_t i = 0;
  for (; i + 1 < ids.size(); ++i) stream.push(ids[i], &piece);
  EXPECT_EQ(piece, "");  // nothing of the emoji yet
  stream.push(ids[i], &piece);
  EXPECT_EQ(piece, "\xF0\x9F\x98\x80");
}

TEST_F(TokenizerTest, StreamFlushShowsACutSequenceAsReplacementCharacters) {
  const auto ids = encode("\xF0\x9F\x98\x80");
  const std::vector<int32_t> cut(ids.begin(), ids.end() - 1);  // three of four bytes
  const std::string expect = sp_decode(cut);
  EXPECT_EQ(stream_all(cut), expect);
  EXPECT_NE(expect.find("\xEF\xBF\xBD"), std::string::npos);
}

TEST_F(TokenizerTest, InvalidUtf8IsRejectedWithItsOffset) {
  std::vector<int32_t> ids;
  for (const std::string bad : {std::string("ab\xFF"), std::string("ab\xC3"),
                                std::string("ab\xED\xA0\x80"), std::string("ab\xC0\xAF")}) {
    try {
      tok_->encode(bad, false, &ids);
      FAIL() << "accepted invalid UTF-8";
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), Status::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find("offset 2"), std::string::npos) << e.what();
    }
  }
}

TEST_F(TokenizerTest, OutOfRangeIdIsRejected) {
  const int32_t ids[] = {5, static_cast<int32_t>(tok_->n_vocab())};
  try {
    tok_->decode(ids, 2);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("tokens[1]"), std::string::npos) << e.what();
  }
}

TEST(TokenizerLoad, RejectsBadBlobs) {
  const std::string& p = capi_test::tokenizer_proto();
  const auto* data = reinterpret_cast<const uint8_t*>(p.data());
  const int64_t size = static_cast<int64_t>(p.size());
  const int64_t pieces = capi_test::tokenizer_pieces();
  const auto status_of = [](auto&& make) {
    try {
      make();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("m.mixc"), std::string::npos) << e.what();
      return e.status();
    }
    return Status::Ok;
  };
  EXPECT_EQ(status_of([&] { Tokenizer t(data, size, test_spec(), pieces, "m.mixc"); }), Status::Ok);
  const uint8_t junk[] = {0xFF, 0xFF, 0xFF, 0x01, 0x02};
  EXPECT_EQ(status_of([&] { Tokenizer t(junk, 5, test_spec(), pieces, "m.mixc"); }), Status::Format);
  EXPECT_EQ(status_of([&] { Tokenizer t(data, size, test_spec(), pieces + 1, "m.mixc"); }),
            Status::Format);
  TokenizerSpec bad = test_spec();
  bad.eos_id = static_cast<int32_t>(pieces);
  EXPECT_EQ(status_of([&] { Tokenizer t(data, size, bad, pieces, "m.mixc"); }), Status::Format);
}

TEST(Utf8, SequenceRules) {
  int64_t off = -1;
  EXPECT_TRUE(utf8_validate("plain \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", &off));
  EXPECT_TRUE(utf8_validate("", &off));
  EXPECT_FALSE(utf8_validate("\xF4\x90\x80\x80", &off));  // above U+10FFFF
  EXPECT_EQ(off, 0);
  EXPECT_FALSE(utf8_validate("a\xE0\x80\x80", &off));  // overlong
  EXPECT_EQ(off, 1);
  EXPECT_FALSE(utf8_validate("ab\x80", &off));  // stray continuation
  EXPECT_EQ(off, 2);
}

// The default model, once tools/ has trained it: its own tokenizer through the
// same checks.
TEST(TokenizerDefaultModel, StreamsAndRoundTrips) {
  const std::string path = std::string(MIXCON_MODELS_DIR) + "/mixcon-brown.mixc";
  if (!std::ifstream(path).good()) GTEST_SKIP() << path << " is not there yet";
  ReadOptions ro;
  const auto file = ModelFile::open(path, ro);
  const TokenizerSpec& spec = file->tokenizer();
  ASSERT_EQ(spec.kind, "sentencepiece");
  const std::vector<uint8_t>* blob = file->blob(spec.blob);
  ASSERT_NE(blob, nullptr);
  Tokenizer tok(blob->data(), static_cast<int64_t>(blob->size()), spec,
                file->config().vocab_size, path);
  sentencepiece::SentencePieceProcessor sp;
  ASSERT_TRUE(sp.LoadFromSerializedProto(std::string(blob->begin(), blob->end())).ok());
  for (const std::string& text : sample_texts()) {
    std::vector<int32_t> ids;
    tok.encode(text, spec.add_bos, &ids);
    const std::string expect = sp.DecodeIds(std::vector<int>(ids.begin(), ids.end()));
    EXPECT_EQ(tok.decode(ids.data(), static_cast<int64_t>(ids.size())), expect);
    Utf8Stream stream(&tok);
    std::string all, piece;
    for (int32_t id : ids) {
      piece.clear();
      stream.push(id, &piece);
      EXPECT_TRUE(utf8_validate(piece, nullptr));
      all += piece;
    }
    stream.flush(&all);
    EXPECT_EQ(all, expect);
  }
}

}  // namespace
}  // namespace mixcon
