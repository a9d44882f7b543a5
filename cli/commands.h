// The subcommands of the mixcon tool. Each lives in its own file and is
// listed once in main.cpp's table; a new one (cli/bench.cpp) adds a function
// here and a row there.
#pragma once

#include <string>

#include "mixcon.h"

namespace mixcon_cli {

// Exit statuses: 0 success, 1 the library reported a failure, 2 bad usage.
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Each command gets argv with argv[0] = the command name.
int cmd_run(int argc, char** argv);
int cmd_info(int argc, char** argv);
int cmd_logits(int argc, char** argv);
#ifdef MIXCON_CLI_HAS_BENCH
int cmd_bench(int argc, char** argv);
#endif

// Prints "mixcon <command>: <what>: <STATUS>: <last error>" to stderr and
// returns kExitFailure.
int report_failure(const char* command, const char* what, mixcon_status status);
// Prints a usage error and the hint to stderr; returns kExitUsage.
int report_usage(const char* command, const std::string& message);

// Loads a model with n_threads (0 = all cores); prints the failure and
// returns nullptr on error.
mixcon_model* load_model(const char* command, const std::string& path, int64_t n_threads);

}  // namespace mixcon_cli
