// An owned, 64-byte aligned byte buffer: decoded payloads live in these so
// that kernels may use aligned vector loads on every tensor.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

namespace mixcon {

constexpr int64_t kPayloadAlignment = 64;

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  // Throws std::bad_alloc when the memory is not there; callers have checked
  // `size` against the file before asking.
  explicit AlignedBuffer(int64_t size) : size_(size) {
    if (size <= 0) return;
    const size_t rounded = (size_t(size) + kPayloadAlignment - 1) / kPayloadAlignment * kPayloadAlignment;
    void* p = std::aligned_alloc(kPayloadAlignment, rounded);
    if (!p) throw std::bad_alloc();
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
