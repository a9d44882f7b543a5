// Tokenizer entry points: text <-> token ids through the model's tokenizer.
#include <cstring>

#include "errors.h"
#include "handles.h"
#include "text_out.h"

using mixcon::capi::guard;
using mixcon::capi::require;

namespace mixcon::capi {

const Tokenizer& model_tokenizer(const mixcon_model* model) {
  if (!model->tokenizer)
    fail(Status::Unsupported,
         "the model has no tokenizer (tokenizer kind \"none\"): use token ids instead of text");
  return *model->tokenizer;
}

void write_text(const std::string_view text, char* buf, int64_t cap, int64_t* len) {
  const auto need = static_cast<int64_t>(text.size());
  *len = need;
  if (cap < need)
    fail(Status::BufferTooSmall, "the text needs " + std::to_string(need) +
                                     " bytes but cap is " + std::to_string(cap));
  if (need > 0) std::memcpy(buf, text.data(), text.size());
  if (cap > need) buf[need] = '\0';
}

void check_out_buffer(const void* buf, int64_t cap, const void* len) {
  require(len != nullptr, "the length out-pointer is NULL");
  require(cap >= 0, "cap is negative");
  require(buf != nullptr || cap == 0, "buf is NULL but cap > 0");
}

}  // namespace mixcon::capi

extern "C" {

MIXCON_API mixcon_status mixcon_tokenize(const mixcon_model* model, const char* text,
                                         int64_t text_len, int32_t add_bos, int32_t* tokens,
                                         int64_t cap, int64_t* n_tokens) {
  return guard("mixcon_tokenize", [&] {
    require(model != nullptr, "model is NULL");
    require(n_tokens != nullptr, "n_tokens is NULL");
    require(text_len >= 0, "text_len is negative");
    require(text != nullptr || text_len == 0, "text is NULL but text_len > 0");
    require(cap >= 0, "cap is negative");
    require(tokens != nullptr || cap == 0, "tokens is NULL but cap > 0");
    require(add_bos >= -1 && add_bos <= 1, "add_bos must be -1 (model default), 0 or 1");
    const mixcon::Tokenizer& tok = mixcon::capi::model_tokenizer(model);
    const bool bos = add_bos == -1 ? tok.spec().add_bos : add_bos == 1;
    std::vector<int32_t> ids;
    tok.encode(std::string_view(text ? text : "", static_cast<size_t>(text_len)), bos, &ids);
    const auto need = static_cast<int64_t>(ids.size());
    *n_tokens = need;
    if (cap < need)
      mixcon::fail(mixcon::Status::BufferTooSmall, "the text has " + std::to_string(need) +
                                                       " tokens but cap is " + std::to_string(cap));
    if (need > 0) std::memcpy(tokens, ids.data(), ids.size() * sizeof(int32_t));
  });
}

MIXCON_API mixcon_status mixcon_detokenize(const mixcon_model* model, const int32_t* tokens,
                                           int64_t n, char* buf, int64_t cap,
                                           int64_t* text_len) {
  return guard("mixcon_detokenize", [&] {
    require(model != nullptr, "model is NULL");
    require(n >= 0, "n is negative");
    require(tokens != nullptr || n == 0, "tokens is NULL but n > 0");
    mixcon::capi::check_out_buffer(buf, cap, text_len);
    const mixcon::Tokenizer& tok = mixcon::capi::model_tokenizer(model);
    mixcon::capi::write_text(tok.decode(tokens, n), buf, cap, text_len);
  });
}

MIXCON_API mixcon_status mixcon_token_to_piece(const mixcon_model* model, int32_t token,
                                               char* buf, int64_t cap, int64_t* len) {
  return guard("mixcon_token_to_piece", [&] {
    require(model != nullptr, "model is NULL");
    mixcon::capi::check_out_buffer(buf, cap, len);
    const mixcon::Tokenizer& tok = mixcon::capi::model_tokenizer(model);
    if (token < 0 || token >= tok.n_vocab())
      mixcon::fail(mixcon::Status::InvalidArgument,
                   "token " + std::to_string(token) + " is outside the vocabulary [0, " +
                       std::to_string(tok.n_vocab()) + ")");
    mixcon::capi::write_text(tok.surface(token), buf, cap, len);
  });
}

}  // extern "C"
