// Shared helpers of the text-returning entry points.
#pragma once

#include <cstdint>
#include <string_view>

#include "handles.h"

namespace mixcon::capi {

// The model's tokenizer; throws Error(Unsupported) for tokenizer kind "none".
const Tokenizer& model_tokenizer(const mixcon_model* model);

// Checks a (buf, cap, len) triple: len non-NULL, cap >= 0, buf non-NULL when cap > 0.
void check_out_buffer(const void* buf, int64_t cap, const void* len);

// The size-query convention: *len = text size; throws Error(BufferTooSmall)
// when cap is short, else copies and adds a NUL if there is room.
void write_text(std::string_view text, char* buf, int64_t cap, int64_t* len);

}  // namespace mixcon::capi
