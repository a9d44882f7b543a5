// The shared library exports exactly the functions mixcon.h declares.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace {

std::set<std::string> declared_functions() {
  const std::string path = std::string(MIXCON_TEST_DATA_DIR) + "/../../capi/mixcon.h";
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << "cannot read " << path;
  std::stringstream ss;
  ss << f.rdbuf();
  // Drop comments so documentation mentioning a name does not count.
  const std::string text = std::regex_replace(
      std::regex_replace(ss.str(), std::regex(R"(/\*[\s\S]*?\*/)"), " "), std::regex("//[^\n]*"),
      " ");
  std::set<std::string> names;
  const std::regex decl(R"(MIXCON_API[^;(]*?\b(mixcon_[a-z_0-9]+)\s*\()");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), decl); it != std::sregex_iterator();
       ++it)
    names.insert((*it)[1]);
  return names;
}

std::set<std::string> exported_symbols() {
  const std::string lib = std::string(MIXCON_LIB_DIR) + "/libmixcon.so.1";
  if (!std::ifstream(lib).good()) {
    ADD_FAILURE() << lib << " is missing: build the 'mixcon' target before the tests";
    return {};
  }
  const std::string cmd = "nm -D --defined-only '" + lib + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  EXPECT_NE(p, nullptr);
  std::set<std::string> names;
  char line[1024];
  while (p && std::fgets(line, sizeof line, p)) {
    std::istringstream ls(line);
    std::string addr, type, name;
    if (ls >> addr >> type >> name) names.insert(name);
  }
  if (p) EXPECT_EQ(pclose(p), 0);
  return names;
}

TEST(CapiSymbols, ExportsExactlyTheDeclaredFunctions) {
  const auto declared = declared_functions();
  const auto exported = exported_symbols();
  ASSERT_GT(declared.size(), 30u);
  for (const auto& d : declared) EXPECT_TRUE(exported.count(d)) << d << " is declared but not exported";
  for (const auto& e : exported) EXPECT_TRUE(declared.count(e)) << e << " is exported but not declared in mixcon.h";
}

TEST(CapiSymbols, CapiMdRequiredFunctionsAreDeclared) {
  const auto declared = declared_functions();
  for (const char* name :
       {"mixcon_abi_version", "mixcon_version", "mixcon_status_string", "mixcon_last_error",
        "mixcon_set_log_callback", "mixcon_backend_available", "mixcon_model_options_init",
        "mixcon_model_load", "mixcon_model_load_memory", "mixcon_model_free", "mixcon_model_info",
        "mixcon_model_metadata_json", "mixcon_tokenize", "mixcon_detokenize",
        "mixcon_sampler_options_init", "mixcon_sampler_create", "mixcon_sampler_free",
        "mixcon_session_options_init", "mixcon_session_create", "mixcon_session_free",
        "mixcon_session_reset", "mixcon_session_feed", "mixcon_session_feed_text",
        "mixcon_session_logits", "mixcon_session_sample", "mixcon_session_step",
        "mixcon_session_next_text", "mixcon_session_position", "mixcon_session_state_size",
        "mixcon_session_state_save", "mixcon_session_state_load", "mixcon_session_fork",
        "mixcon_session_cancel"})
    EXPECT_TRUE(declared.count(name)) << name;
}

}  // namespace

namespace {

// The header is C99 as well as C++: compile it alone, pedantically, as C.
TEST(CapiHeader, CompilesAsStrictC99) {
  const std::string dir = std::string(MIXCON_TEST_DATA_DIR) + "/../../capi";
  const std::string cmd = "printf '#include \"mixcon.h\"\\nint main(void){return mixcon_abi_version() "
                          "== MIXCON_HEADER_ABI_VERSION ? 0 : 1;}\\n' | cc -std=c99 -Wall -Wextra "
                          "-pedantic -Werror -fsyntax-only -I'" + dir + "' -x c - 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  EXPECT_EQ(pclose(p), 0) << out;
}

}  // namespace
