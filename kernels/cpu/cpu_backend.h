// The CPU implementation of core/backend.h: host memory, OpenMP kernels.
#pragma once

#include <memory>

#include "core/backend.h"

namespace mixcon {

std::unique_ptr<Backend> make_cpu_backend();

}  // namespace mixcon
