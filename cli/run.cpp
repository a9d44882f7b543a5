// mixcon run: stream a continuation of a prompt.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <random>
#include <string>
#include <vector>
#include <unistd.h>

#include "args.h"
#include "commands.h"

namespace mixcon_cli {
namespace {

// Ctrl-C cancels the running step through the one call that may come from
// elsewhere (here a signal handler: it only stores an atomic flag).
mixcon_session* volatile g_session = nullptr;

void on_interrupt(int) {
  if (g_session) mixcon_session_cancel(g_session);
}

// Frees the handles on every return path.
struct Handles {
  mixcon_model* model = nullptr;
  mixcon_session* session = nullptr;
  mixcon_sampler* sampler = nullptr;
  ~Handles() {
    g_session = nullptr;
    mixcon_session_free(session);
    mixcon_sampler_free(sampler);
    mixcon_model_free(model);
  }
};

}  // namespace

int cmd_run(int argc, char** argv) {
  const char* cmd = "run";
  mixcon_sampler_options so;
  mixcon_sampler_options_init(&so);
  std::string model_path, prompt, seed_text;
  int64_t n_predict = 128, n_threads = 0, ctx = 0, top_k = so.top_k;
  int64_t window = so.repetition_window;
  float temp = so.temperature, top_p = so.top_p, min_p = so.min_p;
  float penalty = so.repetition_penalty;
  int32_t kv_dtype = MIXCON_DTYPE_F32;
  int64_t prefill_chunk = 0;
  int32_t activations = MIXCON_DTYPE_F32;
  bool timings = false;
  const std::vector<Option> options = {
      opt_string({"-m", "--model"}, "MODEL", &model_path, "the .mixc model file", true),
      opt_string({"-p", "--prompt"}, "PROMPT", &prompt, "the text to continue", true),
      opt_int({"-n", "--n-predict"}, "N", &n_predict, "tokens to generate (default 128)", 0,
              INT64_MAX),
      opt_float({"--temp"}, "T", &temp, "temperature, 0 = greedy (default 0.8)"),
      opt_int({"--top-k"}, "K", &top_k, "keep the K most likely tokens, 0 = off (default 40)", 0,
              INT32_MAX),
      opt_float({"--top-p"}, "P", &top_p, "nucleus sampling, 1 = off (default 0.95)"),
      opt_float({"--min-p"}, "P", &min_p, "drop tokens below P x the top one, 0 = off (default 0.05)"),
      opt_float({"--repeat-penalty"}, "R", &penalty, "repetition penalty, 1 = off (default 1)"),
      opt_int({"--repeat-window"}, "N", &window,
              "tokens the penalty looks back, -1 = all (default 64)", -1, INT64_MAX),
      opt_string({"--seed"}, "S", &seed_text, "random seed, any 64-bit integer (default: a random one)"),
      opt_int({"-t", "--threads"}, "T", &n_threads, "CPU threads, 0 = all cores (default 0)", 0,
              INT32_MAX),
      opt_int({"-c", "--ctx"}, "N", &ctx, "context size (default: prompt + N, at most the model's)", 0, INT64_MAX),
      opt_kv_dtype(&kv_dtype),
      opt_prefill_chunk(&prefill_chunk),
      opt_activations(&activations),
      opt_flag({"--timings"}, &timings,
               "print the prompt's and the generation's speed to stderr at the end"),
  };
  bool help = false;
  const std::string err = parse_args(argc, argv, 1, options, &help);
  if (help) {
    std::printf("usage: mixcon run -m MODEL -p PROMPT [options]\n\n"
                "Streams the continuation of PROMPT to stdout as it is generated; stops at\n"
                "the end-of-sequence token, after N tokens, or when the context is full.\n\n%s",
                describe_options(options).c_str());
    return 0;
  }
  if (!err.empty()) return report_usage(cmd, err);

  so.temperature = temp;
  so.top_k = static_cast<int32_t>(top_k);
  so.top_p = top_p;
  so.min_p = min_p;
  so.repetition_penalty = penalty;
  so.repetition_window = window;
  int64_t seed = 0;
  if (seed_text.empty()) {
    std::random_device rd;
    seed = static_cast<int64_t>((uint64_t(rd()) << 32) | rd());
  } else if (!parse_int64(seed_text, &seed)) {
    return report_usage(cmd, "--seed: '" + seed_text + "' is not a 64-bit integer");
  }
  so.seed = seed;

  Handles h;
  mixcon_status st = mixcon_sampler_create(&so, &h.sampler);
  if (st != MIXCON_OK) return report_usage(cmd, mixcon_last_error());
  h.model = load_model(cmd, model_path, n_threads);
  if (!h.model) return kExitFailure;
  mixcon_model_info_t info;
  mixcon_model_info_init(&info);
  if ((st = mixcon_model_info(h.model, &info)) != MIXCON_OK)
    return report_failure(cmd, "model info", st);

  // The prompt's tokens, with the model's default BOS: also the size of the
  // context this run needs.
  int64_t n_prompt = 0;
  st = mixcon_tokenize(h.model, prompt.data(), static_cast<int64_t>(prompt.size()), -1, nullptr, 0,
                       &n_prompt);
  std::vector<int32_t> prompt_tokens(static_cast<size_t>(n_prompt));
  if (st == MIXCON_ERR_BUFFER_TOO_SMALL)
    st = mixcon_tokenize(h.model, prompt.data(), static_cast<int64_t>(prompt.size()), -1,
                         prompt_tokens.data(), n_prompt, &n_prompt);
  if (st != MIXCON_OK) return report_failure(cmd, "cannot tokenize the prompt", st);
  if (n_prompt == 0)
    return report_usage(cmd, "the prompt is empty and the model adds no BOS token: nothing to continue");

  mixcon_session_options sess;
  mixcon_session_options_init(&sess);
  // Without --ctx, plan exactly the memory this run can use rather than the
  // model's whole context (which can be gigabytes of KV cache).
  sess.max_context = ctx > 0 ? ctx
                             : (n_prompt + n_predict < info.max_context ? n_prompt + n_predict
                                                                         : info.max_context);
  sess.n_threads = static_cast<int32_t>(n_threads);
  sess.kv_dtype = kv_dtype;
  sess.prefill_chunk = prefill_chunk;
  sess.activation_dtype = activations;
  if ((st = mixcon_session_create(h.model, &sess, &h.session)) != MIXCON_OK)
    return report_failure(cmd, "cannot create a session", st);
  g_session = h.session;
  std::signal(SIGINT, on_interrupt);

  using Clock = std::chrono::steady_clock;
  const Clock::time_point t_prompt = Clock::now();
  if ((st = mixcon_session_feed(h.session, prompt_tokens.data(), n_prompt)) != MIXCON_OK)
    return report_failure(cmd, "cannot feed the prompt", st);
  const Clock::time_point t_gen = Clock::now();
  int64_t n_generated = 0;

  std::vector<char> piece(static_cast<size_t>(info.max_piece_bytes) + 1);
  bool ended_with_newline = false;
  for (int64_t i = 0; i < n_predict; ++i) {
    int64_t len = 0;
    int32_t token = -1;
    st = mixcon_session_next_text(h.session, h.sampler, piece.data(),
                                  static_cast<int64_t>(piece.size()), &len, &token);
    if (st == MIXCON_ERR_CONTEXT_FULL) break;  // a natural end, not an error
    if (st == MIXCON_ERR_CANCELLED) {
      std::fputc('\n', stdout);
      std::fprintf(stderr, "mixcon run: interrupted\n");
      return 130;
    }
    if (st != MIXCON_OK) return report_failure(cmd, "generation failed", st);
    ++n_generated;
    if (len > 0) {
      std::fwrite(piece.data(), 1, static_cast<size_t>(len), stdout);
      std::fflush(stdout);
      ended_with_newline = piece[static_cast<size_t>(len) - 1] == '\n';
    }
    if (token == info.eos_id) break;
  }
  int64_t len = 0;
  if (mixcon_session_flush_text(h.session, piece.data(), static_cast<int64_t>(piece.size()),
                                &len) == MIXCON_OK && len > 0) {
    std::fwrite(piece.data(), 1, static_cast<size_t>(len), stdout);
    ended_with_newline = piece[static_cast<size_t>(len) - 1] == '\n';
  }
  // A terminal gets its prompt back on a fresh line; a pipe gets exactly the text.
  if (!ended_with_newline && isatty(STDOUT_FILENO)) std::fputc('\n', stdout);
  std::fflush(stdout);
  if (timings) {
    // What the user waited for: the prompt's one feed, then every step with
    // its sampling and text (llama.cpp's "prompt eval" and "eval").
    const double prompt_s = std::chrono::duration<double>(t_gen - t_prompt).count();
    const double gen_s = std::chrono::duration<double>(Clock::now() - t_gen).count();
    auto rate = [](int64_t n, double s) { return s > 0 ? double(n) / s : 0.0; };
    std::fprintf(stderr,
                 "mixcon run: prompt %lld tokens in %.1f ms (%.1f tok/s), generated %lld tokens "
                 "in %.1f ms (%.1f tok/s)\n",
                 static_cast<long long>(n_prompt), prompt_s * 1e3, rate(n_prompt, prompt_s),
                 static_cast<long long>(n_generated), gen_s * 1e3, rate(n_generated, gen_s));
  }
  return 0;
}

}  // namespace mixcon_cli
