// The CPU kernels' worker team: every share runs exactly once, concurrent and
// nested callers fall back to running the shares themselves, errors come
// back to the caller, and no thread is created per call.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "kernels/cpu/thread_pool.h"

namespace mixcon {
namespace cpu {
namespace {

TEST(ThreadPool, EveryIndexRunsExactlyOnce) {
  for (int nt : {1, 2, 3, 8}) {
    for (int64_t n : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      parallel_for(nt, n, [&](int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
      });
      for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[static_cast<size_t>(i)].load(), 1) << nt << " " << n;
    }
  }
}

TEST(ThreadPool, SharesAreContiguousAndOrderedByIndex) {
  std::vector<int64_t> begin(4, -1), end(4, -1);
  parallel_for(4, 10, [&](int64_t b, int64_t e, int t) {
    begin[static_cast<size_t>(t)] = b;
    end[static_cast<size_t>(t)] = e;
  });
  EXPECT_EQ(begin[0], 0);
  for (size_t t = 1; t < 4; ++t) EXPECT_EQ(begin[t], end[t - 1]);
  EXPECT_EQ(end[3], 10);
}

TEST(ThreadPool, BalancedRunsEveryUnitExactlyOnce) {
  for (int nt : {1, 2, 3, 8}) {
    for (int64_t n : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      parallel_balanced(nt, n, [&](int64_t u, int) { hits[static_cast<size_t>(u)].fetch_add(1); });
      for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[static_cast<size_t>(i)].load(), 1) << nt << " " << n;
    }
  }
}

// A share that runs late gives its last units to the thread that is done:
// share 1's first unit holds its thread until the caller has run 40 units,
// which it can only do by taking them from the back of share 1. (Where the
// team is busy the caller runs share 0 first, taking all 64, and share 1
// then finds nothing left: the same outcome.)
TEST(ThreadPool, BalancedMovesUnitsAwayFromASlowShare) {
  std::vector<std::atomic<int>> hits(64), ran_by(64);
  std::atomic<int> by_caller{0};
  std::atomic<bool> held{false};
  parallel_balanced(2, 64, [&](int64_t u, int t) {
    if (t == 1 && !held.exchange(true)) {
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (by_caller.load() < 40 && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
    } else if (t == 0) {
      by_caller.fetch_add(1);
    }
    hits[static_cast<size_t>(u)].fetch_add(1);
    ran_by[static_cast<size_t>(u)].store(t);
  });
  for (size_t u = 0; u < 64; ++u) EXPECT_EQ(hits[u].load(), 1) << u;
  EXPECT_GE(by_caller.load(), 40);
  for (size_t u = 0; u < 32; ++u) EXPECT_EQ(ran_by[u].load(), 0) << u;  // its own share first
  for (size_t u = 56; u < 64; ++u) EXPECT_EQ(ran_by[u].load(), 0) << u;  // taken from the back
}

TEST(ThreadPool, BalancedPassesAUnitsExceptionToTheCaller) {
  std::atomic<int> ran{0};
  EXPECT_THROW(parallel_balanced(2, 100,
                                 [&](int64_t u, int) {
                                   ran.fetch_add(1);
                                   if (u == 70) throw std::runtime_error("unit 70");
                                 }),
               std::runtime_error);
  EXPECT_GE(ran.load(), 1);
}

TEST(ThreadPool, ConcurrentCallersAllGetTheirWorkDone) {
  std::vector<std::thread> callers;
  std::atomic<int> wrong{0};
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&, c] {
      for (int rep = 0; rep < 200; ++rep) {
        std::vector<int> out(64, 0);
        parallel_for(2, 64, [&](int64_t b, int64_t e, int) {
          for (int64_t i = b; i < e; ++i) out[static_cast<size_t>(i)] = c * 1000 + static_cast<int>(i);
        });
        for (int i = 0; i < 64; ++i)
          if (out[static_cast<size_t>(i)] != c * 1000 + i) wrong.fetch_add(1);
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(ThreadPool, NestedCallsRunSeriallyInsteadOfDeadlocking) {
  std::atomic<int> total{0};
  parallel(2, [&](int, int) {
    parallel_for(2, 10, [&](int64_t b, int64_t e, int) { total.fetch_add(static_cast<int>(e - b)); });
  });
  EXPECT_EQ(total.load(), 20);
}

TEST(ThreadPool, AnExceptionInAnyShareReachesTheCallerAndTheTeamStillWorks) {
  for (int thrower = 0; thrower < 2; ++thrower) {
    EXPECT_THROW(parallel(2, [&](int t, int) {
                   if (t == thrower) throw std::runtime_error("share failed");
                 }),
                 std::runtime_error);
  }
  std::atomic<int> ran{0};
  parallel(2, [&](int, int) { ran.fetch_add(1); });
  EXPECT_EQ(ran.load(), 2);
}

TEST(ThreadPool, NoThreadIsCreatedPerCall) {
  parallel(3, [](int, int) {});
  const int before = pool_threads();
  EXPECT_GE(before, 2);
  for (int i = 0; i < 1000; ++i) parallel(3, [](int, int) {});
  EXPECT_EQ(pool_threads(), before);
}

// A child of fork() has none of the parent's workers; it must still get its
// work done (Python's multiprocessing forks processes that then decode).
TEST(ThreadPool, AForkedChildRunsParallelWork) {
  parallel(2, [](int, int) {});  // the parent's team exists
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    alarm(20);  // a hang becomes a failure, not a stuck test
    std::atomic<int> ran{0};
    for (int i = 0; i < 100; ++i) parallel(2, [&](int, int) { ran.fetch_add(1); });
    _exit(ran.load() == 200 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace cpu
}  // namespace mixcon
