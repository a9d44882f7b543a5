/* Compiled with -Wall -Wextra -Wshadow -Wpedantic -Wconversion -Werror (tests/CMakeLists.txt). */
#include "mixcon.h"

int mixcon_public_headers_check_c(void) { return MIXCON_OK; }
