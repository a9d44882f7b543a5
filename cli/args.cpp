#include "args.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>

#include "mixcon.h"

namespace mixcon_cli {

bool parse_int64(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end != s.c_str() + s.size()) return false;
  *out = static_cast<int64_t>(v);
  return true;
}

bool parse_float(const std::string& s, float* out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const float v = std::strtof(s.c_str(), &end);
  if (errno != 0 || end != s.c_str() + s.size() || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

Option opt_string(std::vector<std::string> names, std::string value_name, std::string* out,
                  std::string help, bool required) {
  Option o{std::move(names), std::move(value_name), std::move(help), required, nullptr};
  o.set = [out](const std::string& v) {
    *out = v;
    return std::string();
  };
  return o;
}

Option opt_int(std::vector<std::string> names, std::string value_name, int64_t* out,
               std::string help, int64_t min_value, int64_t max_value) {
  Option o{std::move(names), std::move(value_name), std::move(help), false, nullptr};
  o.set = [out, min_value, max_value](const std::string& v) {
    int64_t x = 0;
    if (!parse_int64(v, &x)) return "'" + v + "' is not an integer";
    if (x < min_value || x > max_value)
      return std::to_string(x) + " is outside [" + std::to_string(min_value) + ", " +
             std::to_string(max_value) + "]";
    *out = x;
    return std::string();
  };
  return o;
}

Option opt_float(std::vector<std::string> names, std::string value_name, float* out,
                 std::string help) {
  Option o{std::move(names), std::move(value_name), std::move(help), false, nullptr};
  o.set = [out](const std::string& v) {
    if (!parse_float(v, out)) return "'" + v + "' is not a finite number";
    return std::string();
  };
  return o;
}

Option opt_flag(std::vector<std::string> names, bool* out, std::string help) {
  Option o{std::move(names), "", std::move(help), false, nullptr};
  o.set = [out](const std::string&) {
    *out = true;
    return std::string();
  };
  return o;
}

Option opt_kv_dtype(int32_t* out) {
  Option o{{"--kv-dtype"}, "T",
           "KV cache: f32 (exact), f16 or bf16 (half the memory and reads), q8_0 (about a "
           "quarter; needs head_dim % 32 == 0) (default f32)",
           false, nullptr};
  o.set = [out](const std::string& v) {
    if (v == "f32") *out = MIXCON_DTYPE_F32;
    else if (v == "f16") *out = MIXCON_DTYPE_F16;
    else if (v == "bf16") *out = MIXCON_DTYPE_BF16;
    else if (v == "q8_0") *out = MIXCON_DTYPE_Q8_0;
    else return "'" + v + "' is not f32, f16, bf16 or q8_0";
    return std::string();
  };
  return o;
}

Option opt_activations(int32_t* out) {
  Option o{{"--activations"}, "T",
           "f32 (exact), q8_0 (products with q8_0 weights round their activations to int8: "
           "~2x faster prefill with VNNI, ~1.2x with AVX2 alone, logits move by ~5e-3) or bf16 (products with bf16 "
           "weights round them to bf16: faster prefill with AVX512_BF16) (default f32)",
           false, nullptr};
  o.set = [out](const std::string& v) {
    if (v == "f32") *out = MIXCON_DTYPE_F32;
    else if (v == "q8_0") *out = MIXCON_DTYPE_Q8_0;
    else if (v == "bf16") *out = MIXCON_DTYPE_BF16;
    else return "'" + v + "' is not f32, q8_0 or bf16";
    return std::string();
  };
  return o;
}

Option opt_prefill_chunk(int64_t* out) {
  return opt_int({"--prefill-chunk"}, "N", out,
                 "tokens per prefill pass: more is faster, needs more memory (default 512)", 1,
                 INT32_MAX);
}

std::string parse_args(int argc, char** argv, int first, const std::vector<Option>& options,
                       bool* help) {
  *help = false;
  std::set<const Option*> seen;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      *help = true;
      return "";
    }
    std::string value;
    bool has_inline_value = false;
    const size_t eq = arg.find('=');
    if (arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_inline_value = true;
    }
    const Option* opt = nullptr;
    for (const Option& o : options)
      for (const std::string& n : o.names)
        if (n == arg) opt = &o;
    if (!opt) return "unknown argument '" + arg + "'";
    if (opt->value_name.empty()) {
      if (has_inline_value) return arg + " takes no value";
    } else if (!has_inline_value) {
      if (i + 1 >= argc) return arg + " needs a value (" + opt->value_name + ")";
      value = argv[++i];
    }
    const std::string err = opt->set(value);
    if (!err.empty()) return arg + ": " + err;
    seen.insert(opt);
  }
  for (const Option& o : options)
    if (o.required && !seen.count(&o)) return "missing " + o.names.back() + " " + o.value_name;
  return "";
}

std::string describe_options(const std::vector<Option>& options) {
  std::string out;
  for (const Option& o : options) {
    std::string left = "  ";
    for (size_t i = 0; i < o.names.size(); ++i) left += (i ? ", " : "") + o.names[i];
    if (!o.value_name.empty()) left += " " + o.value_name;
    if (left.size() < 28) left.resize(28, ' ');
    else left += "  ";
    out += left + o.help + (o.required ? " (required)" : "") + "\n";
  }
  return out;
}

}  // namespace mixcon_cli
