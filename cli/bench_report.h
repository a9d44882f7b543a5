// The figures one `mixcon bench` run measured (PERF.md's table), and the two
// ways they are shown: a table for people and one JSON object for tools.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/bench_cost_model.h"

namespace mixcon_cli {

struct ContextFigures {
  int64_t context = 0;
  double decode_tok_s = 0;               // median of the runs
  std::vector<double> decode_runs;       // tok/s of each run
  mixcon::bench::DecodeBytes bytes;      // per decode step, at the runs' mean position
  double roofline_decode = 0;            // bytes.total() · decode_tok_s / mem_bw_GBs
  // The bound of this context's runs: the larger of the bandwidth readings
  // taken just before and just after them (the host's bandwidth drifts by
  // ±30% over minutes, so one reading for all contexts misjudged some).
  double mem_bw_GBs = 0;
  int64_t state_bytes = 0;               // mixcon_session_memory_bytes at max_context = context
  double fork_us = 0;                    // median
  double state_save_us = 0;              // median
  int64_t state_save_bytes = 0;          // what the save wrote
};

struct BenchResults {
  // What ran.
  std::string model;  // preset name or file path
  std::string dtype;
  std::string kv_dtype;  // the sessions' KV cache: f32, f16 or bf16
  int64_t prefill_chunk = 0;
  std::string activations = "f32";  // products with q8_0 weights: f32 (exact) or q8_0 (int8)  // the sessions' tokens per prefill pass
  std::string device;
  int threads = 0;
  int64_t prompt = 0, gen = 0;
  int64_t weight_bytes = 0, n_params = 0;
  // The machine.
  std::string cpu_model;
  std::vector<std::string> cpu_features;
  std::string kernel_path;  // the CPU matmul path the engine uses for this dtype
  std::string gpu;          // "" when none
  int64_t llc_bytes = 0;
  std::string omp_wait_policy;  // OMP_WAIT_POLICY of the run, "" if unset
  // Bounds measured in this run.
  double mem_bw_GBs = 0;      // just before the first context's decode runs
  double mem_bw_GBs_end = 0;  // after the last context's, to show the drift
  std::string peak_kind;  // of the kernel path used
  double peak_GFLOPs = 0;
  std::string peak_kind_perf_md;  // PERF.md's bar for this dtype
  double peak_GFLOPs_perf_md = 0;
  // Speed.
  double prefill_tok_s = 0;
  std::vector<double> prefill_runs;
  double flops_per_token = 0;
  double roofline_prefill = 0;          // against peak_GFLOPs
  double roofline_prefill_perf_md = 0;  // against peak_GFLOPs_perf_md
  std::vector<ContextFigures> contexts;
  // Memory and state.
  int64_t kv_bytes_per_token = 0;           // measured from session sizes
  int64_t kv_bytes_per_token_expected = 0;  // PERF.md's formula
  // Load.
  int64_t load_bytes = 0;  // decoded bytes of the file
  double load_raw_GBs = 0, load_zstd_GBs = 0;
  double total_seconds = 0;
};

std::string results_table(const BenchResults& r);
nlohmann::json results_json(const BenchResults& r);

}  // namespace mixcon_cli
