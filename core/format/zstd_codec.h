// One zstd frame per payload (FORMAT.md codec "zstd"), over libzstd.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mixcon {

// One frame that declares its content size (the reader relies on it).
std::vector<uint8_t> zstd_encode(const uint8_t* src, int64_t src_len, int level);

// Checks, before anything is allocated, that `src` is exactly one zstd frame
// declaring `expected` decoded bytes and able to produce that many. Throws
// Error(Format, "<what>: zstd ...") or ("<what>: decoded size ...") otherwise.
void zstd_check_frame(const uint8_t* src, int64_t src_len, int64_t expected, const std::string& what);

// Decodes the frame into dst, which holds exactly dst_len bytes; the frame
// must produce exactly dst_len bytes.
void zstd_decode(const uint8_t* src, int64_t src_len, uint8_t* dst, int64_t dst_len, const std::string& what);

}  // namespace mixcon
