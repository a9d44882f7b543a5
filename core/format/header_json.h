// Parsing the JSON header strictly: UTF-8 checked, nesting bounded, and
// duplicate keys rejected (nlohmann would silently keep the last one, so a
// file could carry two different payload records for one tensor).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace mixcon {

// Nesting deeper than this is rejected before parsing: it bounds the
// recursion of everything that later walks or dumps the tree.
constexpr int kMaxJsonDepth = 64;

// Throws Error(Format, "<label>: json: ...") for invalid UTF-8 ("utf-8"), bad
// syntax, too deep nesting and duplicate keys ("duplicate tensor name 'x'"
// inside `tensors`, "duplicate blob name 'x'" inside `blobs`, "duplicate key 'k'
// in a.b" elsewhere).
nlohmann::json parse_header_json(const uint8_t* text, int64_t size, const std::string& label);

// Byte offset of the first invalid UTF-8 sequence, or -1 when the text is valid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
int64_t find_invalid_utf8(const uint8_t* s, int64_t n);

}  // namespace mixcon
