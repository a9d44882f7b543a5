// XXH64 (seed 0), the checksum of FORMAT.md, and its 16-hex-digit spelling.
#pragma once

#include <cstdint>
#include <string>

namespace mixcon {

uint64_t xxh64(const void* data, int64_t size);
// 16 lowercase hex digits, as the file stores them.
std::string xxh64_hex(uint64_t h);
// Parses exactly 16 lowercase hex digits; false otherwise.
bool parse_xxh64_hex(const std::string& s, uint64_t* out);

}  // namespace mixcon
