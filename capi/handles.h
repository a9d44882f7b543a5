// What the opaque handles of mixcon.h hold.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/model/model.h"
#include "core/sampling/sampler.h"
#include "core/session/session.h"
#include "core/tokenizer/tokenizer.h"
#include "core/tokenizer/utf8_stream.h"
#include "mixcon.h"

struct mixcon_model {
  std::shared_ptr<const mixcon::Model> model;
  // Shared with the sessions, which outlive the handle when freed first.
  std::shared_ptr<const mixcon::Tokenizer> tokenizer;  // null for kind "none"
  std::string config_json;    // compact, sorted keys
  std::string metadata_json;  // compact
};

struct mixcon_sampler {
  explicit mixcon_sampler(const mixcon::SamplerOptions& o) : sampler(o) {}
  mixcon::Sampler sampler;
};

struct mixcon_session {
  mixcon_session(std::unique_ptr<mixcon::Session> s,
                 std::shared_ptr<const mixcon::Tokenizer> tok)
      : session(std::move(s)), tokenizer(std::move(tok)), stream(tokenizer.get()) {
    if (tokenizer) piece.reserve(static_cast<size_t>(tokenizer->max_piece_bytes()));
  }

  std::unique_ptr<mixcon::Session> session;  // holds the model
  std::shared_ptr<const mixcon::Tokenizer> tokenizer;
  // Raised by mixcon_session_cancel, lowered by the call that observes it.
  std::atomic<bool> cancel{false};
  // The text stream over every token since reset (see mixcon_session_next_text).
  mixcon::Utf8Stream stream;
  std::string piece;                  // next_text's piece, max_piece_bytes reserved
  std::vector<int32_t> text_tokens;   // feed_text's tokens, reused
};
