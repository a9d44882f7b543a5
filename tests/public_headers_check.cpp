// Compiled with -Wall -Wextra -Wshadow -Wpedantic -Wconversion -Werror (tests/CMakeLists.txt).
#include "mixcon.h"
#include "mixcon.hpp"

int mixcon_public_headers_check_cpp() { return MIXCON_OK; }
