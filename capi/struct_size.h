// Reading and writing the caller's versioned structs (CAPI.md "Forward-
// compatible structs"): only the fields that the caller's struct_size covers
// are touched, so a program built against an older, shorter struct works
// with a newer library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/common/status.h"

namespace mixcon::capi {

// Whether `s->struct_size` covers the whole of s->field.
#define MIXCON_COVERS(s, type, field) \
  ((s)->struct_size >= offsetof(type, field) + sizeof(((type*)nullptr)->field))

// Throws Error(InvalidArgument) when struct_size cannot even hold the first
// field after it: such a struct was never initialized by *_init().
template <class T>
void check_struct_size(const T* s, size_t first_field_end, const char* type_name) {
  if (s->struct_size < first_field_end)
    fail(Status::InvalidArgument,
         std::string(type_name) + ".struct_size = " + std::to_string(s->struct_size) +
             " is too small (at least " + std::to_string(first_field_end) +
             " bytes; initialize the struct with its _init() function)");
}

}  // namespace mixcon::capi
