// mixcon logits: the logits after each token of a list, as JSON — the tool
// for checking a converted model against its reference.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"

namespace mixcon_cli {
namespace {

// "1,2,3" -> {1, 2, 3}; "" on success, else what is wrong.
std::string parse_token_list(const std::string& text, std::vector<int32_t>* out) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    const size_t a = item.find_first_not_of(" \t"), b = item.find_last_not_of(" \t");
    item = a == std::string::npos ? "" : item.substr(a, b - a + 1);
    int64_t v = 0;
    if (!parse_int64(item, &v) || v < INT32_MIN || v > INT32_MAX)
      return "'" + item + "' is not a token id";
    out->push_back(static_cast<int32_t>(v));
    start = comma + 1;
  }
  return "";
}

// %.9g round-trips a float; JSON has no NaN or infinity, so those are null.
void print_row(const float* row, int64_t n) {
  std::fputc('[', stdout);
  for (int64_t j = 0; j < n; ++j) {
    if (j) std::fputc(',', stdout);
    if (std::isfinite(row[j])) std::printf("%.9g", static_cast<double>(row[j]));
    else std::fputs("null", stdout);
  }
  std::fputc(']', stdout);
}

}  // namespace

int cmd_logits(int argc, char** argv) {
  const char* cmd = "logits";
  std::string model_path, token_text;
  bool prefill = false;
  int64_t n_threads = 0;
  const std::vector<Option> options = {
      opt_string({"-m", "--model"}, "MODEL", &model_path, "the .mixc model file", true),
      opt_string({"--tokens"}, "IDS", &token_text, "comma-separated token ids, e.g. 1,2,3", true),
      opt_flag({"--prefill"}, &prefill, "feed all tokens as one chunk (default: one at a time)"),
      opt_int({"-t", "--threads"}, "T", &n_threads, "CPU threads, 0 = all cores (default 0)", 0,
              INT32_MAX),
  };
  bool help = false;
  const std::string err = parse_args(argc, argv, 1, options, &help);
  if (help) {
    std::printf("usage: mixcon logits -m MODEL --tokens 1,2,3 [--prefill]\n\n"
                "Prints {\"logits\": [[...], ...]}: row i holds the logits after tokens[0..i].\n\n%s",
                describe_options(options).c_str());
    return 0;
  }
  if (!err.empty()) return report_usage(cmd, err);
  std::vector<int32_t> tokens;
  const std::string terr = parse_token_list(token_text, &tokens);
  if (!terr.empty()) return report_usage(cmd, "--tokens: " + terr);

  mixcon_model* model = load_model(cmd, model_path, n_threads);
  if (!model) return kExitFailure;
  const int64_t n_vocab = mixcon_model_n_vocab(model);
  mixcon_model_info_t info;
  mixcon_model_info_init(&info);
  mixcon_model_info(model, &info);
  mixcon_session* session = nullptr;
  mixcon_session_options so;
  mixcon_session_options_init(&so);
  so.n_threads = static_cast<int32_t>(n_threads);
  // Plan only the context these tokens need; more than the model's fails
  // below with CONTEXT_FULL, which names the limit.
  const auto n_tokens = static_cast<int64_t>(tokens.size());
  so.max_context = n_tokens <= info.max_context ? n_tokens : 0;
  mixcon_status st = mixcon_session_create(model, &so, &session);
  mixcon_model_free(model);  // the session holds the model from here on
  if (st != MIXCON_OK) return report_failure(cmd, "cannot create a session", st);

  const auto n = static_cast<int64_t>(tokens.size());
  std::vector<float> rows(static_cast<size_t>(n * n_vocab));
  if (prefill) {
    st = mixcon_session_feed_all_logits(session, tokens.data(), n, rows.data(),
                                        static_cast<int64_t>(rows.size()));
    if (st != MIXCON_OK) {
      mixcon_session_free(session);
      return report_failure(cmd, "cannot feed the tokens", st);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const float* logits = nullptr;
      st = mixcon_session_feed(session, &tokens[static_cast<size_t>(i)], 1);
      if (st == MIXCON_OK) st = mixcon_session_logits(session, &logits, nullptr);
      if (st != MIXCON_OK) {
        mixcon_session_free(session);
        return report_failure(cmd, ("cannot feed token " + std::to_string(i)).c_str(), st);
      }
      std::copy(logits, logits + n_vocab, rows.begin() + i * n_vocab);
    }
  }
  mixcon_session_free(session);

  std::fputs("{\"logits\": [", stdout);
  for (int64_t i = 0; i < n; ++i) {
    if (i) std::fputs(",\n", stdout);
    print_row(rows.data() + i * n_vocab, n_vocab);
  }
  std::fputs("]}\n", stdout);
  return std::fflush(stdout) == 0 ? 0 : kExitFailure;
}

}  // namespace mixcon_cli
