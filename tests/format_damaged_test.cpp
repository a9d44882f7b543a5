// Every file of tests/data/damaged/manifest.json (made by the Python tools)
// must be rejected with the listed status and message substring (status "OK":
// the undamaged control, which must load): the C++ and Python readers agree on
// what is damaged and why.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/common/status.h"
#include "core/format/model_file.h"

using namespace mixcon;

namespace {

const std::string kDir = std::string(MIXCON_TEST_DATA_DIR) + "/damaged";

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), ::toupper);
  return s;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  return s;
}

// "FORMAT", "format", "MIXCON_ERR_FORMAT" and "Status.FORMAT" all name Status::Format.
std::string normalized_status(std::string s) {
  s = upper(s);
  for (const std::string prefix : {"MIXCON_ERR_", "MIXCON_", "STATUS."})
    if (s.rfind(prefix, 0) == 0) s = s.substr(prefix.size());
  return s;
}

}  // namespace

TEST(FormatDamaged, EveryManifestFileIsRejectedAsListed) {
  std::ifstream in(kDir + "/manifest.json");
  if (!in) GTEST_SKIP() << kDir << "/manifest.json does not exist yet (made by the Python tools)";
  const nlohmann::json manifest = nlohmann::json::parse(in);
  ASSERT_TRUE(manifest.contains("files") && manifest["files"].is_array());
  ASSERT_FALSE(manifest["files"].empty());
  for (const auto& entry : manifest["files"]) {
    const std::string file = entry.at("file").get<std::string>();
    const std::string want_status = normalized_status(entry.at("status").get<std::string>());
    const std::string needle = entry.value("message_contains", "");
    SCOPED_TRACE(file + " (" + entry.value("rule", "?") + ")");
    for (bool mmap : {true, false}) {
      ReadOptions o;
      o.use_mmap = mmap;
      try {
        auto m = ModelFile::open(kDir + "/" + file, o);
        // "OK" marks the undamaged control file.
        EXPECT_EQ(want_status, "OK") << "accepted; expected " << want_status;
        if (want_status == "OK") {
          EXPECT_FALSE(m->tensors().empty());
        }
      } catch (const Error& e) {
        EXPECT_EQ(status_name(e.status()), want_status) << e.what();
        EXPECT_NE(lower(e.what()).find(lower(needle)), std::string::npos)
            << "message: " << e.what() << "\nexpected to contain: " << needle;
      }
    }
  }
}
