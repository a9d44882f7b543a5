// Command-line options for the subcommands: a table of options, parsed in one
// place, so every command reports bad arguments the same way.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mixcon_cli {

struct Option {
  std::vector<std::string> names;  // e.g. {"-m", "--model"}
  std::string value_name;          // empty for a flag without a value
  std::string help;
  bool required = false;
  // Stores the value; returns an error message, or "" when it is fine.
  std::function<std::string(const std::string& value)> set;
};

Option opt_string(std::vector<std::string> names, std::string value_name, std::string* out,
                  std::string help, bool required = false);
Option opt_int(std::vector<std::string> names, std::string value_name, int64_t* out,
               std::string help, int64_t min_value, int64_t max_value);
Option opt_float(std::vector<std::string> names, std::string value_name, float* out,
                 std::string help);
Option opt_flag(std::vector<std::string> names, bool* out, std::string help);
// --kv-dtype f32|f16|bf16 into a mixcon_dtype (the session's KV cache).
Option opt_kv_dtype(int32_t* out);
// --activations f32|q8_0|bf16: mixcon_session_options.activation_dtype.
Option opt_activations(int32_t* out);
// --prefill-chunk N: mixcon_session_options.prefill_chunk (0 = the default).
Option opt_prefill_chunk(int64_t* out);

// Parses argv[first..argc) against `options` ("--name value" and
// "--name=value"). Returns "" on success, else a message naming the bad
// argument. Sets *help when -h/--help was given (nothing else is checked then).
std::string parse_args(int argc, char** argv, int first, const std::vector<Option>& options,
                       bool* help);

// One line per option, for --help.
std::string describe_options(const std::vector<Option>& options);

// Strict number parsing: the whole string, no overflow.
bool parse_int64(const std::string& s, int64_t* out);
bool parse_float(const std::string& s, float* out);

}  // namespace mixcon_cli
