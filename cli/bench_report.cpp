#include "cli/bench_report.h"

#include <cstdio>
#include <string>

namespace mixcon_cli {
namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string mib(int64_t bytes) { return fmt("%.1f MiB", double(bytes) / (1024.0 * 1024.0)); }

}  // namespace

std::string results_table(const BenchResults& r) {
  std::string s;
  s += "mixcon bench: " + r.model + " " + r.dtype + " (KV cache " + r.kv_dtype + ", prefill chunk " +
       std::to_string(r.prefill_chunk) + ", activations " + r.activations + ") on " +
       r.device + ", " + std::to_string(r.threads) + " threads\n";
  s += "  cpu: " + r.cpu_model + " (kernel path " + r.kernel_path + ")";
  if (!r.gpu.empty()) s += ", gpu: " + r.gpu;
  s += "\n  weights " + mib(r.weight_bytes) + ", " + fmt("%.1f", double(r.n_params) / 1e6) +
       " M params\n\n";
  s += "  read bandwidth      " + fmt("%8.1f GB/s", r.mem_bw_GBs) + "  (end of run: " +
       fmt("%.1f", r.mem_bw_GBs_end) + ")\n";
  s += "  peak (" + r.peak_kind + ")" + std::string(r.peak_kind.size() < 12 ? 12 - r.peak_kind.size() : 0, ' ') +
       fmt("%8.1f GFLOP/s", r.peak_GFLOPs) + "\n";
  if (r.peak_kind_perf_md != r.peak_kind)
    s += "  peak (" + r.peak_kind_perf_md + ")" +
         std::string(r.peak_kind_perf_md.size() < 12 ? 12 - r.peak_kind_perf_md.size() : 0, ' ') +
         fmt("%8.1f GFLOP/s", r.peak_GFLOPs_perf_md) + "  (PERF.md's bar for " + r.dtype + ")\n";
  s += "  prefill " + std::to_string(r.prompt) + " tokens  " + fmt("%8.1f tok/s", r.prefill_tok_s) +
       "  " + fmt("%.2f GFLOP/token", r.flops_per_token / 1e9) + "  roofline " +
       fmt("%.2f", r.roofline_prefill);
  if (r.peak_kind_perf_md != r.peak_kind) s += fmt(" (%.2f of " , r.roofline_prefill_perf_md) + r.peak_kind_perf_md + ")";
  s += "\n\n";
  s += "  context   decode tok/s   MB/token   bw GB/s   roofline   state MiB   fork us   save us\n";
  for (const ContextFigures& c : r.contexts) {
    char line[200];
    std::snprintf(line, sizeof line, "  %7lld   %12.1f   %8.1f   %7.1f   %8.2f   %9.1f   %7.0f   %7.0f\n",
                  static_cast<long long>(c.context), c.decode_tok_s, c.bytes.total() / 1e6,
                  c.mem_bw_GBs, c.roofline_decode, double(c.state_bytes) / (1024.0 * 1024.0),
                  c.fork_us, c.state_save_us);
    s += line;
  }
  s += "\n  kv bytes/token      " + std::to_string(r.kv_bytes_per_token) + " (expected " +
       std::to_string(r.kv_bytes_per_token_expected) + ")\n";
  s += "  load raw            " + fmt("%8.2f GB/s", r.load_raw_GBs) + "\n";
  s += "  load zstd           " + fmt("%8.2f GB/s", r.load_zstd_GBs) + "\n";
  return s;
}

nlohmann::json results_json(const BenchResults& r) {
  using nlohmann::json;
  json decode = json::object(), bytes = json::object(), parts = json::object(),
       roof = json::object(), bw = json::object(), state = json::object(), fork = json::object(),
       save = json::object(), save_bytes = json::object(), runs = json::object();
  for (const ContextFigures& c : r.contexts) {
    const std::string k = std::to_string(c.context);
    decode[k] = c.decode_tok_s;
    runs[k] = c.decode_runs;
    bytes[k] = c.bytes.total();
    parts[k] = {{"weights", c.bytes.weights},
                {"kv_cache", c.bytes.kv_cache},
                {"conba_state", c.bytes.conba_state}};
    roof[k] = c.roofline_decode;
    bw[k] = c.mem_bw_GBs;
    state[k] = c.state_bytes;
    fork[k] = c.fork_us;
    save[k] = c.state_save_us;
    save_bytes[k] = c.state_save_bytes;
  }
  std::vector<int64_t> contexts;
  for (const ContextFigures& c : r.contexts) contexts.push_back(c.context);
  json j;
  j["model"] = r.model;
  j["dtype"] = r.dtype;
  j["kv_dtype"] = r.kv_dtype;
  j["prefill_chunk"] = r.prefill_chunk;
  j["activations"] = r.activations;
  j["device"] = r.device;
  j["threads"] = r.threads;
  j["prompt"] = r.prompt;
  j["gen"] = r.gen;
  j["contexts"] = contexts;
  j["weight_bytes"] = r.weight_bytes;
  j["n_params"] = r.n_params;
  j["machine"] = {{"cpu_model", r.cpu_model},
                  {"cpu_features", r.cpu_features},
                  {"kernel_path", r.kernel_path},
                  {"threads", r.threads},
                  {"llc_bytes", r.llc_bytes},
                  {"omp_wait_policy", r.omp_wait_policy},
                  {"gpu", r.gpu.empty() ? json(nullptr) : json(r.gpu)}};
  j["prefill_tok_s"] = r.prefill_tok_s;
  j["prefill_tok_s_runs"] = r.prefill_runs;
  j["decode_tok_s"] = decode;
  j["decode_tok_s_runs"] = runs;
  j["bytes_per_token"] = bytes;
  j["bytes_per_token_parts"] = parts;
  j["mem_bw_GBs"] = r.mem_bw_GBs;
  j["mem_bw_GBs_end"] = r.mem_bw_GBs_end;
  j["mem_bw_GBs_decode"] = bw;
  j["roofline_decode"] = roof;
  j["flops_per_token"] = r.flops_per_token;
  j["peak_kind"] = r.peak_kind;
  j["peak_GFLOPs"] = r.peak_GFLOPs;
  j["roofline_prefill"] = r.roofline_prefill;
  j["peak_kind_perf_md"] = r.peak_kind_perf_md;
  j["peak_GFLOPs_perf_md"] = r.peak_GFLOPs_perf_md;
  j["roofline_prefill_perf_md"] = r.roofline_prefill_perf_md;
  j["state_bytes"] = state;
  j["kv_bytes_per_token"] = r.kv_bytes_per_token;
  j["kv_bytes_per_token_expected"] = r.kv_bytes_per_token_expected;
  j["load_GBs"] = {{"raw", r.load_raw_GBs}, {"zstd", r.load_zstd_GBs}};
  j["load_bytes"] = r.load_bytes;
  j["fork_us"] = fork;
  j["state_save_us"] = save;
  j["state_save_bytes"] = save_bytes;
  j["total_seconds"] = r.total_seconds;
  return j;
}

}  // namespace mixcon_cli
