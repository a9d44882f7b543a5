#include "kernels/cpu/thread_pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include <pthread.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MIXCON_PAUSE() _mm_pause()
#else
#define MIXCON_PAUSE() std::this_thread::yield()
#endif

namespace mixcon {
namespace cpu {
namespace {

// How long an idle worker keeps polling for the next region before it sleeps:
// longer than the gap between two regions of a decode step (sampling, a
// scalar op), short enough that an idle session burns no CPU.
constexpr int64_t kSpinMicros = 300;

// Set while this thread runs a share: a kernel that asks for threads from
// inside a share (never the case today) gets them serially instead of
// deadlocking on the team it is part of.
thread_local bool t_in_share = false;

struct InShare {
  InShare() { t_in_share = true; }
  ~InShare() { t_in_share = false; }
};

using Clock = std::chrono::steady_clock;

void team_after_fork();

class Team {
 public:
  Team() { pthread_atfork(nullptr, nullptr, [] { team_after_fork(); }); }

  // In the child of a fork() only the forking thread exists: forget the
  // parent's workers (their std::thread objects are leaked on purpose; they
  // name threads this process does not have) and start from scratch, so a
  // child that decodes (Python's multiprocessing) does not wait for them.
  void forget_workers_after_fork() {
    workers_.clear();
    new (&run_mutex_) std::mutex;
    new (&sleep_mutex_) std::mutex;
    new (&error_mutex_) std::mutex;
    new (&wake_) std::condition_variable;
    generation_.store(0);
    pending_.store(0);
    sleepers_.store(0);
  }

  void run(int nt, void (*call)(void*, int, int), void* body) {
    if (t_in_share) {
      run_serial(nt, call, body);
      return;
    }
    std::unique_lock<std::mutex> busy(run_mutex_, std::try_to_lock);
    if (!busy.owns_lock()) {
      run_serial(nt, call, body);
      return;
    }
    try {
      grow(nt - 1);
    } catch (...) {  // no thread to be had: the caller does it all
      run_serial(nt, call, body);
      return;
    }
    call_ = call;
    body_ = body;
    nt_ = nt;
    error_ = nullptr;
    // Every worker acknowledges every region, even one it has no share of, so
    // none can lag behind and read the next region's fields half-written.
    pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> g(sleep_mutex_);
      wake_.notify_all();
    }
    std::exception_ptr mine;
    try {
      InShare in;
      call(body, 0, nt);
    } catch (...) {
      mine = std::current_exception();
    }
    for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
      if (spins < 4096)
        MIXCON_PAUSE();
      else
        std::this_thread::yield();  // a worker was descheduled: give it the core
    }
    if (mine) std::rethrow_exception(mine);
    if (error_) std::rethrow_exception(error_);
  }

  int size() {
    std::lock_guard<std::mutex> g(run_mutex_);
    return static_cast<int>(workers_.size());
  }

 private:
  static void run_serial(int nt, void (*call)(void*, int, int), void* body) {
    for (int t = 0; t < nt; ++t) call(body, t, nt);
  }

  // Under run_mutex_.
  void grow(int n) {
    if (static_cast<int>(workers_.size()) >= n) return;
    workers_.reserve(static_cast<size_t>(n));  // push_back below cannot throw
    while (static_cast<int>(workers_.size()) < n) {
      const int index = static_cast<int>(workers_.size()) + 1;
      const uint64_t now = generation_.load(std::memory_order_relaxed);
      workers_.push_back(new std::thread([this, index, now] { loop(index, now); }));
    }
  }

  // `seen`: the generation when this worker was created (its first region
  // is the next one). The caller waits for every worker's acknowledgement
  // before it bumps again, so each wake-up sees exactly one new region.
  void loop(int index, uint64_t seen) {
    for (;;) {
      wait_for_new(seen);
      seen = generation_.load(std::memory_order_acquire);
      if (index < nt_) {
        try {
          InShare in;
          call_(body_, index, nt_);
        } catch (...) {
          std::lock_guard<std::mutex> g(error_mutex_);
          if (!error_) error_ = std::current_exception();
        }
      }
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  // Spins, then sleeps, until the generation moves past `seen`.
  void wait_for_new(uint64_t seen) {
    const Clock::time_point until = Clock::now() + std::chrono::microseconds(kSpinMicros);
    for (int spins = 0; generation_.load(std::memory_order_acquire) == seen; ++spins) {
      MIXCON_PAUSE();
      if ((spins & 255) == 255 && Clock::now() > until) {
        std::unique_lock<std::mutex> g(sleep_mutex_);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        wake_.wait(g, [&] { return generation_.load(std::memory_order_seq_cst) != seen; });
        sleepers_.fetch_sub(1, std::memory_order_seq_cst);
        break;
      }
    }
  }

  std::mutex run_mutex_;  // one region at a time; held by the caller throughout
  std::vector<std::thread*> workers_;

  // The current region, written before generation_ is bumped.
  void (*call_)(void*, int, int) = nullptr;
  void* body_ = nullptr;
  int nt_ = 0;
  std::mutex error_mutex_;
  std::exception_ptr error_;

  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<int> sleepers_{0};
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
};

// Never destroyed: a session freed by a user's static destructor after ours
// would otherwise find the team gone. Its workers sleep in the condition
// variable when the process ends and go with it (the library is linked
// NODELETE, so their code is never unmapped under them).
Team& team() {
  static Team* t = new Team;
  return *t;
}

void team_after_fork() { team().forget_workers_after_fork(); }

}  // namespace

void run_shares(int nt, void (*call)(void*, int, int), void* body) {
  if (nt <= 1) {
    call(body, 0, 1);
    return;
  }
  team().run(nt, call, body);
}

int pool_threads() { return team().size(); }

}  // namespace cpu
}  // namespace mixcon
