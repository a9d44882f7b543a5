// A CPU emulation of the CUDA programming model, for checking the kernels'
// logic without a GPU. Blocks run one after another; the threads of a block
// run as cooperative fibers (ucontext) on the calling thread, switching at
// barriers (__syncthreads, and the two barriers of each warp shuffle), so a
// kernel whose threads disagree about a barrier deadlocks visibly. Host
// threads launching at once (sessions on their own streams) each run their
// launches on their own: every piece of emulation state, shared memory
// included, is thread_local.
#pragma once
#include <ucontext.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __shared__ static thread_local

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
struct uint3e {
  unsigned x = 0, y = 0, z = 0;
};
inline thread_local uint3e threadIdx, blockIdx;
inline thread_local dim3 blockDim, gridDim;

struct EmuBarrier {
  int participants = 0, arrived = 0;
  uint64_t gen = 0;
};
struct EmuFiber {
  ucontext_t ctx;
  bool done = false;
};
struct EmuBlock {
  ucontext_t sched;
  std::vector<EmuFiber> fibers;
  int current = 0;
  EmuBarrier block_bar;
  std::vector<EmuBarrier> warp_bars;
  std::vector<std::vector<double>> warp_buf;
  std::vector<float> smem;
  std::function<void()> body;
};
inline thread_local EmuBlock* emu_block = nullptr;
// Arrivals, releases and finished threads: a pass over a block's threads that
// changes none of them means every thread waits at a barrier no one else
// will reach (a kernel bug), reported instead of spinning forever.
inline thread_local uint64_t emu_progress = 0;

// Stream capture (CUDA graphs): while a thread captures, its launches and
// stream-ordered copies are recorded, arguments by value as a kernel node
// keeps them, instead of run; a graph launch runs the recording.
struct EmuGraph {
  std::vector<std::function<void()>> nodes;
};
inline thread_local EmuGraph* emu_capture = nullptr;
inline thread_local bool emu_capture_invalidated = false;
// Runs `f` now, or records it when this thread is capturing.
template <class F>
void emu_enqueue(F f) {
  if (emu_capture)
    emu_capture->nodes.emplace_back(std::move(f));
  else
    f();
}

inline void emu_wait(EmuBarrier& b) {
  const uint64_t g = b.gen;
  ++emu_progress;
  if (++b.arrived == b.participants) {
    b.arrived = 0;
    ++b.gen;
    return;
  }
  EmuBlock* blk = emu_block;
  while (b.gen == g) swapcontext(&blk->fibers[blk->current].ctx, &blk->sched);
}

inline void __syncthreads() { emu_wait(emu_block->block_bar); }

template <class T>
T __shfl_xor_sync(unsigned, T v, int off) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  auto& buf = emu_block->warp_buf[warp];
  buf[lane] = static_cast<double>(v);
  emu_wait(emu_block->warp_bars[warp]);
  const T r = static_cast<T>(buf[lane ^ off]);
  emu_wait(emu_block->warp_bars[warp]);
  return r;
}

inline float* emu_dynamic_smem() { return emu_block->smem.data(); }
inline float __uint_as_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint32_t __float_as_uint(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

inline void emu_fiber_entry() {
  emu_block->body();
  emu_block->fibers[emu_block->current].done = true;
  ++emu_progress;
  // returning resumes uc_link (the scheduler)
}

struct EmuLaunch {
  dim3 grid, block;
  size_t smem;
  EmuLaunch(dim3 g, dim3 b, size_t s = 0, void* = nullptr) : grid(g), block(b), smem(s) {}
  EmuLaunch(dim3 g, int b, size_t s = 0, void* = nullptr) : grid(g), block(dim3(unsigned(b))), smem(s) {}
  EmuLaunch(unsigned g, int b, size_t s = 0, void* = nullptr)
      : grid(dim3(g)), block(dim3(unsigned(b))), smem(s) {}
  template <class F, class... A>
  void run(F f, A... args) {
    const EmuLaunch cfg = *this;
    emu_enqueue([cfg, f, args...]() mutable { EmuLaunch(cfg).run_now(f, args...); });
  }
  template <class F, class... A>
  void run_now(F f, A... args) {
    const unsigned nt = block.x * block.y * block.z;
    const size_t stack_size = 256 * 1024;
    static thread_local std::vector<std::unique_ptr<char[]>> stacks;  // reused by the thread's launches
    while (stacks.size() < nt) stacks.emplace_back(new char[stack_size]);
    for (unsigned bz = 0; bz < grid.z; ++bz)
      for (unsigned by = 0; by < grid.y; ++by)
        for (unsigned bx = 0; bx < grid.x; ++bx) {
          EmuBlock blk;
          blk.fibers.resize(nt);
          blk.block_bar.participants = int(nt);
          const unsigned nw = (nt + 31) / 32;
          blk.warp_bars.resize(nw);
          for (auto& w : blk.warp_bars) w.participants = 32;
          blk.warp_buf.assign(nw, std::vector<double>(32));
          blk.smem.assign(smem / sizeof(float) + 1, std::nanf(""));
          blk.body = [&] { f(args...); };
          emu_block = &blk;
          blockIdx = {bx, by, bz};
          blockDim = block;
          gridDim = grid;
          for (unsigned t = 0; t < nt; ++t) {
            getcontext(&blk.fibers[t].ctx);
            blk.fibers[t].ctx.uc_stack.ss_sp = stacks[t].get();
            blk.fibers[t].ctx.uc_stack.ss_size = stack_size;
            blk.fibers[t].ctx.uc_link = &blk.sched;
            makecontext(&blk.fibers[t].ctx, emu_fiber_entry, 0);
          }
          for (;;) {
            const uint64_t before = emu_progress;
            bool all_done = true;
            for (unsigned t = 0; t < nt; ++t) {
              if (blk.fibers[t].done) continue;
              all_done = false;
              blk.current = int(t);
              threadIdx = {t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
              swapcontext(&blk.sched, &blk.fibers[t].ctx);
            }
            if (all_done) break;
            if (emu_progress == before) {
              std::fprintf(stderr, "cuda emulation: deadlock in block (%u, %u, %u)\n", bx, by, bz);
              std::abort();
            }
          }
          emu_block = nullptr;
        }
  }
};
