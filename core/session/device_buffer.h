// One allocation in a backend's memory, released with it (move-only).
#pragma once

#include <cstdint>
#include <utility>

#include "core/backend.h"

namespace mixcon {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const Backend& be, int64_t bytes)
      : be_(&be), bytes_(bytes), p_(bytes > 0 ? be.alloc(bytes) : nullptr) {}
  ~DeviceBuffer() {
    if (p_) be_->release(p_);
  }
  DeviceBuffer(DeviceBuffer&& o) noexcept
      : be_(o.be_), bytes_(std::exchange(o.bytes_, 0)), p_(std::exchange(o.p_, nullptr)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      if (p_) be_->release(p_);
      be_ = o.be_;
      bytes_ = std::exchange(o.bytes_, 0);
      p_ = std::exchange(o.p_, nullptr);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  int64_t bytes() const { return bytes_; }
  float* f32() const { return static_cast<float*>(p_); }
  void* data() const { return p_; }

 private:
  const Backend* be_ = nullptr;
  int64_t bytes_ = 0;
  void* p_ = nullptr;
};

}  // namespace mixcon
