// An owned, 64-byte aligned byte buffer: decoded payloads live in these so
// that kernels may use aligned vector loads on every tensor.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

#include <sys/mman.h>

namespace mixcon {

constexpr int64_t kPayloadAlignment = 64;
constexpr size_t kHugePage = size_t(2) << 20;
constexpr int64_t kHugeBufferMin = int64_t(8) << 20;

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  // Throws std::bad_alloc when the memory is not there; callers have checked
  // `size` against the file before asking.
  explicit AlignedBuffer(int64_t size) : size_(size) {
    if (size <= 0) return;
    // Weights of many megabytes are streamed once per decoded token: in
    // 2 MiB transparent huge pages (where the kernel grants them) that is
    // 512x fewer TLB misses than in 4 KiB pages.
    const size_t align = size >= kHugeBufferMin ? kHugePage : size_t(kPayloadAlignment);
    const size_t rounded = (size_t(size) + align - 1) / align * align;
    void* p = std::aligned_alloc(align, rounded);
    if (!p) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    if (align == kHugePage) madvise(p, rounded, MADV_HUGEPAGE);
#endif
    data_.reset(static_cast<uint8_t*>(p));
  }
  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  int64_t size() const { return size_; }

 private:
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> data_;
  int64_t size_ = 0;
};

}  // namespace mixcon
