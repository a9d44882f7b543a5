// The bytes of a model file in memory: a read-only mmap of a path, or, when
// mapping is off or impossible, an aligned copy read with read(2).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/format/aligned_buffer.h"

namespace mixcon {

class FileMapping {
 public:
  // Throws Error(Io, "<path>: ...") when the file cannot be opened or read.
  static std::unique_ptr<FileMapping> open(const std::string& path, bool use_mmap);
  // A 64-byte aligned copy of the caller's bytes.
  static std::unique_ptr<FileMapping> copy_of(const void* data, int64_t size);
  ~FileMapping();
  FileMapping(const FileMapping&) = delete;
  FileMapping& operator=(const FileMapping&) = delete;

  // Page-aligned when mapped, 64-byte aligned when copied.
  const uint8_t* data() const { return data_; }
  int64_t size() const { return size_; }
  bool mapped() const { return map_ != nullptr; }

 private:
  FileMapping() = default;
  const uint8_t* data_ = nullptr;
  int64_t size_ = 0;
  void* map_ = nullptr;  // mmap base, or nullptr when copied
  AlignedBuffer copy_;
};

}  // namespace mixcon
