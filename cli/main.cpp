// mixcon: the command-line tool over the C ABI (libmixcon.so only).
#include <cstdio>
#include <cstring>
#include <string>

#include "commands.h"

namespace mixcon_cli {
namespace {

struct Command {
  const char* name;
  int (*run)(int argc, char** argv);
  const char* summary;
};

// The dispatch table: one row per subcommand.
const Command kCommands[] = {
    {"run", cmd_run, "generate a continuation of a prompt, streamed to stdout"},
    {"info", cmd_info, "print a model's configuration, sizes, dtypes and metadata"},
    {"logits", cmd_logits, "print the logits after each of a list of tokens, as JSON"},
#ifdef MIXCON_CLI_HAS_BENCH
    {"bench", cmd_bench, "measure prefill and decode speed"},
#endif
};

void print_help(FILE* out) {
  std::fprintf(out,
               "mixcon %s - MixCon inference engine\n\n"
               "usage: mixcon <command> [options]\n\ncommands:\n",
               mixcon_version());
  for (const Command& c : kCommands) std::fprintf(out, "  %-8s %s\n", c.name, c.summary);
  std::fprintf(out, "  %-8s %s\n", "help", "this text; 'mixcon <command> --help' for a command");
}

}  // namespace

int report_failure(const char* command, const char* what, mixcon_status status) {
  std::fprintf(stderr, "mixcon %s: %s: %s: %s\n", command, what, mixcon_status_string(status),
               mixcon_last_error());
  return kExitFailure;
}

int report_usage(const char* command, const std::string& message) {
  std::fprintf(stderr, "mixcon %s: %s\nTry 'mixcon %s --help'.\n", command, message.c_str(),
               command);
  return kExitUsage;
}

mixcon_model* load_model(const char* command, const std::string& path, int64_t n_threads) {
  mixcon_model_options opts;
  mixcon_model_options_init(&opts);
  opts.n_threads = static_cast<int32_t>(n_threads);
  mixcon_model* model = nullptr;
  const mixcon_status st = mixcon_model_load(path.c_str(), &opts, &model);
  if (st != MIXCON_OK) {
    report_failure(command, "cannot load the model", st);
    return nullptr;
  }
  return model;
}

}  // namespace mixcon_cli

int main(int argc, char** argv) {
  using namespace mixcon_cli;
  if (mixcon_abi_version() != MIXCON_HEADER_ABI_VERSION) {
    std::fprintf(stderr, "mixcon: libmixcon has ABI version %d, this tool needs %d\n",
                 static_cast<int>(mixcon_abi_version()), MIXCON_HEADER_ABI_VERSION);
    return kExitFailure;
  }
  if (argc < 2) {
    print_help(stderr);
    return kExitUsage;
  }
  const std::string name = argv[1];
  if (name == "help" || name == "-h" || name == "--help") {
    if (argc >= 3) {
      for (const Command& c : kCommands)
        if (argv[2] == std::string(c.name)) {
          char help_flag[] = "--help";
          char* sub[] = {argv[2], help_flag, nullptr};
          return c.run(2, sub);
        }
    }
    print_help(stdout);
    return 0;
  }
  if (name == "--version") {
    std::printf("mixcon %s\n", mixcon_version());
    return 0;
  }
  for (const Command& c : kCommands)
    if (name == c.name) return c.run(argc - 1, argv + 1);
  std::fprintf(stderr, "mixcon: unknown command '%s'\n\n", name.c_str());
  print_help(stderr);
  return kExitUsage;
}
