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

// Worker threads started so far (for tests and the benchmark report).
int pool_threads();

}  // namespace cpu
}  // namespace mixcon
