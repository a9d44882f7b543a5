// One persistent team of worker threads for every CPU kernel in the process.
//
// Why not OpenMP's teams: a decode step runs a few hundred short parallel
// regions (a matrix-vector product takes tens of microseconds). libgomp's
// passive wait puts its threads to sleep after each one, and waking them
// costs as much as the work (2 threads decoded slower than 1); its active
// wait spins for milliseconds and starves a busy machine. This team spins
// briefly between regions (kSpinMicros), then sleeps on a condition variable,
// and the caller always does share 0 itself.
//
// Results never depend on which thread runs a share: a share is a fixed range
// of output rows or channels. So when the team is already busy (another
// session decoding on another thread, or a nested call), the caller simply
// runs every share itself, in order — same bytes, no waiting, no deadlock.
//
// No allocation per call: the body is passed by reference through a plain
// function pointer; worker threads are created once, on first use.
#pragma once

#include <atomic>
#include <cstdint>

namespace mixcon {
namespace cpu {

// Runs body(t, nt) for every t in [0, nt): concurrently when the team is
// free, else all in the calling thread. The first exception thrown by any
// share is rethrown here after every share has finished.
void run_shares(int nt, void (*call)(void* body, int t, int nt), void* body);

template <class F>
void parallel(int nt, F&& body) {
  if (nt <= 1) {
    body(0, 1);
    return;
  }
  run_shares(
      nt, [](void* b, int t, int n) { (*static_cast<F*>(b))(t, n); },
      const_cast<void*>(static_cast<const void*>(&body)));
}

// [0, n) split into nt contiguous ranges (like OpenMP's schedule(static));
// body(begin, end, t) runs once per non-empty range.
template <class F>
void parallel_for(int nt, int64_t n, F&& body) {
  if (nt > n) nt = static_cast<int>(n > 0 ? n : 1);
  parallel(nt, [&](int t, int parts) {
    const int64_t begin = n * t / parts, end = n * (t + 1) / parts;
    if (begin < end) body(begin, end, t);
  });
}

// Units [0, n) over nt threads, balanced at run time: thread t first runs
// the units of its parallel_for share front to back, then takes the last
// unit left in another thread's share, until none is left. body(u, t) runs
// exactly once per unit, on whichever thread claims it.
//
// Why: a decode step streams its weights in ~150 regions of 0.5-8 MiB, and
// with fixed halves every region waited for the later of the two threads:
// not a slower share (the worker's shares took less time in total) but
// jitter per region, on a VM ~5% of a product's time. And units of unequal
// cost (a prefill's causal attention tiles) even out by themselves.
// A share is claimed one unit at a time with a compare-and-swap on the
// owner's own cache line (front and back of its range in one word), so the
// owner pays ~20 cycles per unit and only a thread that has run out of work
// touches another's line. Results stay bitwise independent of who runs a
// unit, as long as a unit's output does not depend on the thread.
constexpr int kMaxBalancedThreads = 64;

template <class F>
void parallel_balanced(int nt, int64_t n, F&& body) {
  if (nt > n) nt = static_cast<int>(n > 0 ? n : 1);
  if (nt <= 1 || nt > kMaxBalancedThreads || n >= (int64_t(1) << 31)) {
    parallel_for(nt, n, [&](int64_t begin, int64_t end, int t) {
      for (int64_t u = begin; u < end; ++u) body(u, t);
    });
    return;
  }
  struct alignas(64) Range {
    std::atomic<uint64_t> v;  // front in the low 32 bits, back (one past) in the high
  };
  Range ranges[kMaxBalancedThreads];
  auto pack = [](uint64_t front, uint64_t back) { return front | (back << 32); };
  for (int t = 0; t < nt; ++t)
    ranges[t].v.store(pack(uint64_t(n * t / nt), uint64_t(n * (t + 1) / nt)), std::memory_order_relaxed);
  // Claims one unit of range r: from the front (its owner) or the back.
  auto claim = [&](Range& r, bool front, int64_t* unit) {
    uint64_t cur = r.v.load(std::memory_order_relaxed);
    for (;;) {
      const uint64_t f = cur & 0xffffffffu, b = cur >> 32;
      if (f >= b) return false;
      if (r.v.compare_exchange_weak(cur, front ? pack(f + 1, b) : pack(f, b - 1),
                                    std::memory_order_acq_rel, std::memory_order_relaxed)) {
        *unit = static_cast<int64_t>(front ? f : b - 1);
        return true;
      }
    }
  };
  parallel(nt, [&](int t, int parts) {
    int64_t u;
    while (claim(ranges[t], true, &u)) body(u, t);
    for (int k = 1; k < parts; ++k)
      while (claim(ranges[(t + k) % parts], false, &u)) body(u, t);
  });
}

// Worker threads started so far (for tests and the benchmark report).
int pool_threads();

}  // namespace cpu
}  // namespace mixcon
