// Session state: save/load/fork, rejection of foreign and damaged states, and
// the atomicity of feed (a failed or cancelled feed changes nothing).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/common/status.h"
#include "model_test_util.h"

namespace mixcon {
namespace {

using testutil::state_of;

std::shared_ptr<const Model> model_a() {
  static auto m = testutil::make_model(testutil::all_variants()[0], 21, 1);
  return m;
}

template <class F>
Status status_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.status();
  }
  return Status::Ok;
}

template <class F>
std::string message_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(SessionState, SaveLoadContinueEqualsUninterrupted) {
  auto m = model_a();
  const auto toks = testutil::random_tokens(40, m->config().vocab_size, 2);
  Session a(m, {});
  a.feed(toks.data(), 25);
  const std::vector<uint8_t> saved = state_of(a);
  EXPECT_EQ(int64_t(saved.size()), a.state_size());
  a.feed(toks.data() + 25, 15);

  Session b(m, {});
  b.load_state(saved.data(), int64_t(saved.size()));
  EXPECT_EQ(b.position(), 25);
  EXPECT_EQ(state_of(b), saved);  // a loaded state saves to the same bytes
  EXPECT_EQ(0, std::memcmp(b.tokens(), toks.data(), 25 * sizeof(int32_t)));
  b.feed(toks.data() + 25, 15);  // as `a` did: the same calls give the same bits
  EXPECT_EQ(0, std::memcmp(a.logits(), b.logits(), size_t(a.n_vocab()) * sizeof(float)));
  EXPECT_EQ(state_of(a), state_of(b));

  // Loading over a session that was elsewhere also replaces everything.
  Session c(m, {});
  c.feed(toks.data() + 3, 30);
  c.load_state(saved.data(), int64_t(saved.size()));
  EXPECT_EQ(state_of(c), saved);
}

TEST(SessionState, FreshSessionStateRoundTrips) {
  auto m = model_a();
  Session a(m, {});
  const auto empty = state_of(a);
  Session b(m, {});
  b.load_state(empty.data(), int64_t(empty.size()));
  EXPECT_EQ(b.position(), 0);
  EXPECT_EQ(b.logits(), nullptr);
  EXPECT_EQ(state_of(b), empty);
}

TEST(SessionState, ForkIsIndependent) {
  auto m = model_a();
  const int64_t V = m->config().vocab_size;
  const auto toks = testutil::random_tokens(40, V, 4);
  Session a(m, {});
  a.feed(toks.data(), 20);
  const auto a_before = state_of(a);
  std::unique_ptr<Session> f = a.fork();
  EXPECT_EQ(state_of(*f), a_before);

  f->feed(toks.data() + 20, 10);
  EXPECT_EQ(state_of(a), a_before) << "advancing the fork changed the original";
  const auto f_after = state_of(*f);
  a.feed(toks.data() + 30, 3);
  EXPECT_EQ(state_of(*f), f_after) << "advancing the original changed the fork";

  Session g(m, {});
  g.feed(toks.data(), 20);
  g.feed(toks.data() + 20, 10);
  EXPECT_EQ(0, std::memcmp(g.logits(), f->logits(), size_t(V) * sizeof(float)));
}

TEST(SessionState, AnotherModelsStateIsRejected) {
  auto m = model_a();
  auto other = testutil::make_model(testutil::all_variants()[0], 22, 1);
  Session a(other, {});
  const auto toks = testutil::random_tokens(5, a.n_vocab(), 1);
  a.feed(toks.data(), 5);
  const auto foreign = state_of(a);
  Session b(m, {});
  b.feed(toks.data(), 2);
  const auto before = state_of(b);
  EXPECT_EQ(status_of([&] { b.load_state(foreign.data(), int64_t(foreign.size())); }),
            Status::InvalidArgument);
  EXPECT_NE(message_of([&] { b.load_state(foreign.data(), int64_t(foreign.size())); })
                .find("state belongs to another model"),
            std::string::npos);
  EXPECT_EQ(state_of(b), before);
}

TEST(SessionState, EveryByteFlipIsRejected) {
  auto m = model_a();
  Session a(m, {});
  const auto toks = testutil::random_tokens(6, a.n_vocab(), 8);
  a.feed(toks.data(), 6);
  const auto good = state_of(a);
  Session b(m, {});
  b.feed(toks.data(), 3);
  const auto before = state_of(b);
  std::vector<uint8_t> bad = good;
  int64_t accepted = 0;
  for (size_t i = 0; i < bad.size(); ++i) {
    bad[i] ^= 0x10;
    const Status st = status_of([&] { b.load_state(bad.data(), int64_t(bad.size())); });
    if (st == Status::Ok) ++accepted;
    else
      EXPECT_TRUE(st == Status::Checksum || st == Status::Format || st == Status::InvalidArgument)
          << "byte " << i << ": " << status_name(st);
    bad[i] ^= 0x10;
  }
  // The checksum covers every byte, so no flip goes through.
  EXPECT_EQ(accepted, 0);
  EXPECT_EQ(state_of(b), before);
}

TEST(SessionState, TruncatedAndOversizedBuffersAreRejected) {
  auto m = model_a();
  Session a(m, {});
  const auto toks = testutil::random_tokens(4, a.n_vocab(), 8);
  a.feed(toks.data(), 4);
  const auto good = state_of(a);
  Session b(m, {});
  const auto before = state_of(b);
  for (size_t n = 0; n < good.size(); ++n) {
    const Status st = status_of([&] { b.load_state(good.data(), int64_t(n)); });
    ASSERT_TRUE(st == Status::Format || st == Status::Checksum) << n << ": " << status_name(st);
  }
  std::vector<uint8_t> longer = good;
  longer.push_back(0);
  EXPECT_NE(status_of([&] { b.load_state(longer.data(), int64_t(longer.size())); }), Status::Ok);
  EXPECT_EQ(status_of([&] { b.load_state(nullptr, 100); }), Status::InvalidArgument);
  EXPECT_EQ(state_of(b), before);
}

TEST(SessionState, SaveIntoSmallBufferSaysTheSize) {
  auto m = model_a();
  Session a(m, {});
  std::vector<uint8_t> buf(10);
  const std::string msg = message_of([&] { a.save_state(buf.data(), 10); });
  EXPECT_EQ(status_of([&] { a.save_state(buf.data(), 10); }), Status::BufferTooSmall);
  EXPECT_NE(msg.find(std::to_string(a.state_size())), std::string::npos) << msg;
}

TEST(SessionState, StateLongerThanSessionContextIsRejected) {
  auto m = model_a();
  Session a(m, {});
  const auto toks = testutil::random_tokens(12, a.n_vocab(), 8);
  a.feed(toks.data(), 12);
  const auto st = state_of(a);
  SessionOptions small;
  small.max_context = 8;
  Session b(m, small);
  const auto before = state_of(b);
  EXPECT_EQ(status_of([&] { b.load_state(st.data(), int64_t(st.size())); }), Status::ContextFull);
  EXPECT_EQ(state_of(b), before);
}

TEST(SessionState, ContextFullChangesNothing) {
  auto m = model_a();
  SessionOptions o;
  o.max_context = 16;
  Session s(m, o);
  const auto toks = testutil::random_tokens(20, s.n_vocab(), 8);
  s.feed(toks.data(), 10);
  const auto before = state_of(s);
  EXPECT_EQ(status_of([&] { s.feed(toks.data(), 7); }), Status::ContextFull);
  EXPECT_EQ(state_of(s), before);
  s.feed(toks.data(), 6);  // exactly full is fine
  EXPECT_EQ(s.position(), 16);
  EXPECT_EQ(status_of([&] { s.feed(toks.data(), 1); }), Status::ContextFull);
}

TEST(SessionState, BadArgumentsChangeNothing) {
  auto m = model_a();
  Session s(m, {});
  const auto toks = testutil::random_tokens(8, s.n_vocab(), 8);
  s.feed(toks.data(), 4);
  const auto before = state_of(s);
  std::vector<int32_t> bad = toks;
  bad[5] = int32_t(s.n_vocab());
  EXPECT_EQ(status_of([&] { s.feed(bad.data(), 8); }), Status::InvalidArgument);
  bad[5] = -1;
  EXPECT_EQ(status_of([&] { s.feed(bad.data(), 8); }), Status::InvalidArgument);
  EXPECT_EQ(status_of([&] { s.feed(nullptr, 1); }), Status::InvalidArgument);
  EXPECT_EQ(status_of([&] { s.feed(toks.data(), 0); }), Status::InvalidArgument);
  EXPECT_EQ(status_of([&] { s.feed(toks.data(), -3); }), Status::InvalidArgument);
  EXPECT_EQ(state_of(s), before);

  SessionOptions o;
  o.max_context = m->config().max_context + 1;
  EXPECT_EQ(status_of([&] { Session x(m, o); }), Status::InvalidArgument);
  o.max_context = -1;
  EXPECT_EQ(status_of([&] { Session x(m, o); }), Status::InvalidArgument);
}

TEST(SessionState, PresetCancelChangesNothing) {
  auto m = model_a();
  Session s(m, {});
  const auto toks = testutil::random_tokens(30, s.n_vocab(), 8);
  s.feed(toks.data(), 4);
  const auto before = state_of(s);
  std::atomic<bool> cancel{true};
  EXPECT_EQ(status_of([&] { s.feed(toks.data(), 1, &cancel); }), Status::Cancelled);
  EXPECT_EQ(status_of([&] { s.feed(toks.data(), 30, &cancel); }), Status::Cancelled);
  EXPECT_EQ(state_of(s), before);
  cancel = false;
  s.feed(toks.data(), 1, &cancel);
  EXPECT_EQ(s.position(), 5);
}

// A second thread flips the cancel flag continuously while single tokens and
// short prefills are fed, so cancellations land between layers mid-feed.
// Every cancelled feed must leave the state exactly as before, and the
// session must end where an uninterrupted one fed the accepted tokens ends.
TEST(SessionState, CancelMidFeedChangesNothing) {
  auto m = model_a();
  SessionOptions o;
  o.max_context = 256;
  Session s(m, o);
  Session plain(m, o);
  const auto toks = testutil::random_tokens(256, s.n_vocab(), 8);
  std::atomic<bool> cancel{false}, stop{false}, started{false};
  std::thread flipper([&] {
    started = true;
    while (!stop.load()) {
      // Short bursts of "cancel" between long quiet stretches.
      cancel.store(true);
      std::this_thread::sleep_for(std::chrono::microseconds(20));
      cancel.store(false);
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  });
  while (!started.load()) std::this_thread::yield();
  int cancelled = 0, accepted = 0;
  int64_t next = 0;
  for (int attempt = 0; attempt < 20000 && (next < 200 || cancelled < 20); ++attempt) {
    const int64_t n = attempt % 5 == 0 ? 7 : 1;
    if (next + n > 256) {  // out of context: start over, keep hunting for cancels
      EXPECT_EQ(state_of(s), state_of(plain));
      s.reset();
      plain.reset();
      next = 0;
    }
    const auto before = state_of(s);
    const Status st = status_of([&] { s.feed(&toks[size_t(next)], n, &cancel); });
    if (st == Status::Cancelled) {
      ++cancelled;
      ASSERT_EQ(state_of(s), before) << "attempt " << attempt;
    } else {
      ASSERT_EQ(st, Status::Ok);
      plain.feed(&toks[size_t(next)], n);
      next += n;
      ++accepted;
    }
  }
  stop = true;
  flipper.join();
  EXPECT_GT(cancelled, 0);
  EXPECT_GT(accepted, 0);
  EXPECT_EQ(state_of(s), state_of(plain));
}

TEST(SessionState, MemoryBytesCoversKvCache) {
  auto m = model_a();
  SessionOptions o;
  o.max_context = 128;
  Session s(m, o);
  const ModelConfig& c = m->config();
  const int64_t kv = 2 * c.count_layers(LayerType::Attention) * c.attention.n_kv_heads *
                     c.attention.head_dim * 4 * 128;
  EXPECT_GT(s.memory_bytes(), kv);
}

}  // namespace
}  // namespace mixcon
