// Streams a continuation of a prompt through the C++ wrapper (capi/mixcon.hpp):
// the same loop as samples/c, with RAII handles and exceptions.
//
// Usage: generate [-m MODEL] [-n TOKENS] [--seed N] [PROMPT...]
// Without PROMPT words the prompt is read from stdin.
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>

#include <mixcon.hpp>

int main(int argc, char** argv) {
  std::string path = "models/mixcon-brown.mixc";
  int n_tokens = 64;
  int64_t seed = 42;
  int i = 1;
  for (; i < argc && argv[i][0] == '-' && argv[i][1]; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc || (flag != "-m" && flag != "-n" && flag != "--seed")) {
      std::cerr << "usage: " << argv[0] << " [-m MODEL] [-n TOKENS] [--seed N] [PROMPT...]\n";
      return 2;
    }
    if (flag == "-m") path = argv[i + 1];
    if (flag == "-n") n_tokens = std::atoi(argv[i + 1]);
    if (flag == "--seed") seed = std::atoll(argv[i + 1]);
  }
  std::string prompt;
  for (int j = i; j < argc; ++j) prompt += (j > i ? " " : "") + std::string(argv[j]);
  if (i == argc) {
    prompt.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    while (!prompt.empty() && (prompt.back() == '\n' || prompt.back() == '\r')) prompt.pop_back();
  }

  try {
    mixconpp::Model model(path);
    mixconpp::Session session(model);
    mixcon_sampler_options opts = mixconpp::Sampler::defaults();
    opts.seed = seed;
    mixconpp::Sampler sampler(opts);

    session.feed_text(prompt);  // prefill: the whole prompt in one call
    std::cout << prompt;
    std::string piece;  // reused: the decode loop does not allocate per token
    for (int t = 0; t < n_tokens; ++t) {
      const bool more = session.next_text(sampler, piece);
      std::cout << piece << std::flush;
      if (!more) break;
    }
    std::cout << '\n';
  } catch (const mixconpp::Error& e) {
    std::cerr << "generate: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
