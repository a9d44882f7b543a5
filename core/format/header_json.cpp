#include "core/format/header_json.h"

#include <algorithm>
#include <set>
#include <vector>

#include "core/common/status.h"

namespace mixcon {

using json = nlohmann::json;

int64_t find_invalid_utf8(const uint8_t* s, int64_t n) {
  int64_t i = 0;
  while (i < n) {
    const uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint32_t cp, min;
    if ((c & 0xe0) == 0xc0) len = 2, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0) len = 3, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0) len = 4, cp = c & 0x07, min = 0x10000;
    else return i;
    if (n - i < len) return i;
    for (int k = 1; k < len; ++k) {
      if ((s[i + k] & 0xc0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += len;
  }
  return -1;
}

namespace {

// Deepest [ / { nesting outside strings; stops counting once over the limit.
int nesting_depth(const uint8_t* s, int64_t n) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (int64_t i = 0; i < n && deepest <= kMaxJsonDepth; ++i) {
    const uint8_t c = s[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// Tracks, per open container, the keys seen so far; nlohmann reports each
// event with its depth, which is all that is needed to keep the stack right
// (it does not report the end of a container it discarded).
class DuplicateKeyFinder {
 public:
  bool on_event(int depth, json::parse_event_t event, const json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start: {
        frames_.resize(size_t(depth));
        Frame f;
        f.name = frames_.empty() ? "" : frames_.back().current;
        frames_.push_back(std::move(f));
        break;
      }
      case json::parse_event_t::key: {
        if (depth < 1) break;
        frames_.resize(size_t(depth));
        Frame& f = frames_.back();
        f.current = parsed.get<std::string>();
        if (!f.keys.insert(f.current).second && error_.empty()) error_ = describe(f.current);
        break;
      }
      default:
        break;
    }
    return true;
  }
  const std::string& error() const { return error_; }

 private:
  struct Frame {
    std::string name;     // key under which this container sits
    std::string current;  // last key seen in it
    std::set<std::string> keys;
  };

  std::string describe(const std::string& key) const {
    if (frames_.size() == 2 && frames_[1].name == "tensors") return "duplicate tensor name '" + key + "'";
    if (frames_.size() == 2 && frames_[1].name == "blobs") return "duplicate blob name '" + key + "'";
    std::string path;
    for (size_t i = 1; i < frames_.size(); ++i) path += (i > 1 ? "." : "") + frames_[i].name;
    return "json: duplicate key '" + key + "' in " + (path.empty() ? "the header" : path);
  }

  std::vector<Frame> frames_;
  std::string error_;
};

}  // namespace

json parse_header_json(const uint8_t* text, int64_t size, const std::string& label) {
  const int64_t bad = find_invalid_utf8(text, size);
  if (bad >= 0)
    fail(Status::Format, label + ": json: header is not valid utf-8 (byte " + std::to_string(bad) + " of the header)");
  if (nesting_depth(text, size) > kMaxJsonDepth)
    fail(Status::Format, label + ": json: header nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  DuplicateKeyFinder dups;
  json j;
  try {
    j = json::parse(text, text + size,
                    [&dups](int depth, json::parse_event_t event, json& parsed) {
                      return dups.on_event(depth, event, parsed);
                    });
  } catch (const json::exception& e) {
    fail(Status::Format, label + ": json: header JSON does not parse: " + e.what());
  }
  if (!dups.error().empty()) fail(Status::Format, label + ": " + dups.error());
  return j;
}

}  // namespace mixcon
