#include "core/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/common/status.h"

namespace mixcon {

Sampler::Sampler(const SamplerOptions& opts) : opts_(opts), rng_(opts.seed) {
  const auto bad = [](const std::string& what) {
    fail(Status::InvalidArgument, "sampler options: " + what);
  };
  // Negated comparisons so that NaN fails every check.
  if (!(opts.temperature >= 0.0f) || std::isinf(opts.temperature))
    bad("temperature = " + std::to_string(opts.temperature) + " must be finite and >= 0");
  if (opts.top_k < 0) bad("top_k = " + std::to_string(opts.top_k) + " must be >= 0");
  if (!(opts.top_p > 0.0f && opts.top_p <= 1.0f))
    bad("top_p = " + std::to_string(opts.top_p) + " must be in (0, 1]");
  if (!(opts.min_p >= 0.0f && opts.min_p <= 1.0f))
    bad("min_p = " + std::to_string(opts.min_p) + " must be in [0, 1]");
  if (!(opts.repetition_penalty > 0.0f) || std::isinf(opts.repetition_penalty))
    bad("repetition_penalty = " + std::to_string(opts.repetition_penalty) +
        " must be finite and > 0");
  if (opts.repetition_window < -1)
    bad("repetition_window = " + std::to_string(opts.repetition_window) +
        " must be >= -1 (-1 = whole history, 0 = off)");
}

void Sampler::reserve(int64_t n_vocab) {
  const auto n = static_cast<size_t>(n_vocab);
  if (work_.size() >= n) return;
  work_.resize(n);
  cand_.resize(n);
  prob_.resize(n);
  seen_.assign(n, 0);
}

void Sampler::apply_penalty(int64_t n_vocab, const int32_t* history, int64_t n_history) {
  const float penalty = opts_.repetition_penalty;
  if (penalty == 1.0f || opts_.repetition_window == 0 || n_history <= 0 || !history) return;
  int64_t begin = 0;
  if (opts_.repetition_window > 0 && n_history > opts_.repetition_window)
    begin = n_history - opts_.repetition_window;
  // Each distinct token is penalized once, however often it occurs (CTRL).
  for (int64_t i = begin; i < n_history; ++i) {
    const int32_t t = history[i];
    if (t < 0 || t >= n_vocab || seen_[t]) continue;
    seen_[t] = 1;
    float& x = work_[t];
    x = x > 0.0f ? x / penalty : x * penalty;
  }
  for (int64_t i = begin; i < n_history; ++i) {
    const int32_t t = history[i];
    if (t >= 0 && t < n_vocab) seen_[t] = 0;
  }
}

int32_t Sampler::sample(const float* logits, int64_t n_vocab, const int32_t* history,
                        int64_t n_history) {
  if (n_vocab < 1 || !logits)
    fail(Status::InvalidArgument, "sampler: no logits to sample from (n_vocab = " +
                                      std::to_string(n_vocab) + ")");
  reserve(n_vocab);
  float* w = work_.data();
  for (int64_t i = 0; i < n_vocab; ++i) {
    if (std::isnan(logits[i]))
      fail(Status::Internal, "sampler: logit " + std::to_string(i) + " is NaN");
    w[i] = logits[i];
  }
  apply_penalty(n_vocab, history, n_history);

  int64_t best = 0;
  for (int64_t i = 1; i < n_vocab; ++i)
    if (w[i] > w[best]) best = i;  // strict: the lowest id wins ties
  // Greedy; also the only sensible answer when the top logit is infinite
  // (every logit -inf, or one +inf that takes all the probability).
  if (opts_.temperature == 0.0f || std::isinf(w[best])) return static_cast<int32_t>(best);
  // Shifting by the top logit before dividing by the temperature keeps every
  // value <= 0, so a tiny temperature cannot overflow to inf.
  const float top = w[best];
  const float inv_t = 1.0f / opts_.temperature;
  for (int64_t i = 0; i < n_vocab; ++i) w[i] = (w[i] - top) * inv_t;
  return draw(n_vocab);
}

int32_t Sampler::draw(int64_t n_vocab) {
  const float* w = work_.data();
  int32_t* cand = cand_.data();
  int64_t n = n_vocab;
  for (int64_t i = 0; i < n; ++i) cand[i] = static_cast<int32_t>(i);
  // A strict total order, so sorting gives one result on every library.
  const auto before = [w](int32_t a, int32_t b) { return w[a] > w[b] || (w[a] == w[b] && a < b); };

  bool sorted = false;
  if (opts_.top_k > 0 && opts_.top_k < n) {
    std::nth_element(cand, cand + opts_.top_k - 1, cand + n, before);
    n = opts_.top_k;
    std::sort(cand, cand + n, before);
    sorted = true;
  }
  if (opts_.top_p < 1.0f && !sorted) {
    std::sort(cand, cand + n, before);
    sorted = true;
  }

  // Softmax weights: the top logit is 0 after the shift in sample(), and it
  // survives every filter, so the largest weight is exactly 1.
  double* p = prob_.data();
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    p[i] = std::exp(static_cast<double>(w[cand[i]]));
    total += p[i];
  }

  if (opts_.top_p < 1.0f) {
    const double target = static_cast<double>(opts_.top_p) * total;
    double cum = 0.0;
    int64_t keep = 0;
    while (keep < n) {
      cum += p[keep++];
      if (cum >= target) break;
    }
    n = keep;
    total = cum;
  }

  if (opts_.min_p > 0.0f) {
    const double threshold = static_cast<double>(opts_.min_p);
    int64_t kept = 0;
    total = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      if (p[i] >= threshold) {
        cand[kept] = cand[i];
        p[kept] = p[i];
        total += p[i];
        ++kept;
      }
    }
    n = kept;  // the top token has weight 1 >= min_p, so n >= 1
  }

  const double u = rng_.uniform() * total;
  double cum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    cum += p[i];
    if (u < cum) return cand[i];
  }
  // Rounding can leave u == total; the last candidate takes the remainder.
  return cand[n - 1];
}

}  // namespace mixcon
