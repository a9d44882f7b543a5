// mixcon bench: prefill and decode speed, set against bounds measured on the
// same machine in the same run (PERF.md).
//
// Unlike the other commands it needs the library's C++ side (a random model
// built in memory by the format layer, the CPU kernel path's name), so the
// tool links the static library.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "args.h"
#include "cli/bench_cost_model.h"
#include "cli/bench_report.h"
#include "cli/machine_probe.h"
#include "commands.h"
#include "core/common/status.h"
#include "core/format/model_file.h"
#include "core/format/model_writer.h"
#include "core/session/workspace.h"
#include "kernels/cpu/cpu_kernels.h"
#if MIXCON_HAVE_CUDA
#include "kernels/cuda/cuda_probe.h"
#endif

namespace mixcon_cli {
namespace {

using mixcon::bench::PeakKind;

constexpr const char* kCmd = "bench";
// Seed of the random weights and of the token streams: fixed, so two runs
// (or two builds) measure exactly the same work.
constexpr uint64_t kSeed = 42;
// Timed repetitions per figure (PERF.md: median of 3).
constexpr int kRuns = 3;
// Tokens per feed call while filling a context: the prefill path, and small
// enough to show progress.
constexpr int64_t kFillChunk = 512;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Uniform token ids: random weights have no preferred tokens, so this is as
// representative as text, and it needs no tokenizer.
std::vector<int32_t> random_tokens(int64_t n, int64_t vocab, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int32_t& x : t) x = static_cast<int32_t>(gen() % static_cast<uint64_t>(vocab));
  return t;
}

bool parse_contexts(const std::string& s, std::vector<int64_t>* out) {
  out->clear();
  size_t b = 0;
  while (b <= s.size()) {
    const size_t e = std::min(s.find(',', b), s.size());
    int64_t v = 0;
    if (!parse_int64(s.substr(b, e - b), &v) || v < 1) return false;
    out->push_back(v);
    b = e + 1;
  }
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
  return !out->empty();
}

// The int8 dot product a q8_0 model's products take with --activations
// q8_0 on this CPU and path: VNNI, else AVX2's three-instruction form, else
// (portable) none: f32 FMA.
PeakKind int8_peak_kind() {
  if (mixcon::bench::cpu_has_peak_kind(PeakKind::Int8Vnni)) return PeakKind::Int8Vnni;
  if (mixcon::bench::cpu_has_peak_kind(PeakKind::Int8Avx2)) return PeakKind::Int8Avx2;
  return PeakKind::F32Fma;
}

// The multiply-add family PERF.md holds a dtype's prefill to: f32 FMA for
// f32 and f16, the BF16 dot product for bf16, the int8 VNNI dot product for
// q8_0 (where this CPU lacks VNNI, the int8 dot product it has).
PeakKind perf_md_peak_kind(mixcon::DType t) {
  if (t == mixcon::DType::BF16 && mixcon::bench::cpu_has_peak_kind(PeakKind::Bf16Dot))
    return PeakKind::Bf16Dot;
  if (t == mixcon::DType::Q8_0) return int8_peak_kind();
  return PeakKind::F32Fma;
}

// The GPU's bounds (kernels/cuda/cuda_probe.h); 0 in a build without CUDA
// (then --device cuda was refused before). PERF.md holds GPU prefill to the
// bf16 GEMM throughput; exact prefill runs float32 GEMMs (no TF32), bf16
// activations with a bf16 model bf16 ones.
double gpu_read_bandwidth_GBs() {
#if MIXCON_HAVE_CUDA
  return mixcon::cuda::measure_read_bandwidth_GBs(0);
#else
  return 0.0;
#endif
}
double gpu_gemm_GFLOPs(bool bf16) {
#if MIXCON_HAVE_CUDA
  return mixcon::cuda::measure_gemm_GFLOPs(0, bf16 ? mixcon::cuda::GemmKind::Bf16
                                                   : mixcon::cuda::GemmKind::F32);
#else
  (void)bf16;
  return 0.0;
#endif
}

// A private directory for the raw and zstd copies of the model, removed with
// everything in it when the benchmark ends (also on failure).
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/mixcon-bench-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data())) path_ = buf.data();
  }
  ~TempDir() {
    for (const std::string& f : files_) std::remove(f.c_str());
    if (!path_.empty()) rmdir(path_.c_str());
  }
  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) {
    files_.push_back(path_ + "/" + name);
    return files_.back();
  }

 private:
  std::string path_;
  std::vector<std::string> files_;
};

bool write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(f);
}

struct Handles {
  mixcon_model* model = nullptr;
  mixcon_sampler* greedy = nullptr;
  std::vector<mixcon_session*> sessions;
  ~Handles() {
    for (mixcon_session* s : sessions) mixcon_session_free(s);
    mixcon_sampler_free(greedy);
    mixcon_model_free(model);
  }
};

struct Options {
  std::string preset, model_path, dtype, device = "cpu", json_path, contexts_text = "512,4096,32768";
  int64_t threads = 0, prompt = 512, gen = 128;
  int32_t kv_dtype = MIXCON_DTYPE_F32;
  int64_t prefill_chunk = 0;
  int32_t activations = MIXCON_DTYPE_F32;
  std::vector<int64_t> contexts;
};

void note(const std::string& s) { std::fprintf(stderr, "bench: %s\n", s.c_str()); }

// Bytes of the model and the per-tensor sizes the cost model needs; the
// model's file bytes (raw) come back in *raw and the zstd file is written
// to zstd_path.
struct Built {
  mixcon::ModelConfig config;
  std::vector<mixcon::bench::StoredTensor> tensors;
  std::vector<uint8_t> raw;
};

void add_tensor(Built* b, const std::string& name, int64_t nbytes, const std::vector<int64_t>& shape) {
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < shape.size(); ++i) rows *= shape[i];
  b->tensors.push_back({name, nbytes, rows});
}

// Writes the raw and zstd files of `in` and keeps the raw bytes.
void write_both(mixcon::WriterInput& in, Built* b, const std::string& raw_path,
                const std::string& zstd_path) {
  in.codec = mixcon::Codec::Raw;
  b->raw = mixcon::write_model(in);
  if (!write_file(raw_path, b->raw)) mixcon::fail(mixcon::Status::Io, "cannot write " + raw_path);
  in.codec = mixcon::Codec::Zstd;
  const std::vector<uint8_t> z = mixcon::write_model(in);
  if (!write_file(zstd_path, z)) mixcon::fail(mixcon::Status::Io, "cannot write " + zstd_path);
}

Built build_preset(const Options& o, mixcon::DType dt, const std::string& raw_path,
                   const std::string& zstd_path) {
  Built b;
  b.config = mixcon::preset_config(o.preset);
  note("building a random " + o.preset + " model (" + o.dtype + ")");
  mixcon::WriterInput in = mixcon::random_model(b.config, dt, kSeed);
  for (const mixcon::WriterTensor& t : in.tensors) add_tensor(&b, t.name, int64_t(t.bytes.size()), t.shape);
  write_both(in, &b, raw_path, zstd_path);
  return b;
}

Built build_from_file(const Options& o, const std::string& raw_path, const std::string& zstd_path) {
  Built b;
  mixcon::ReadOptions ro;
  ro.verify_checksums = false;
  std::unique_ptr<mixcon::ModelFile> f = mixcon::ModelFile::open(o.model_path, ro);
  b.config = f->config();
  for (const mixcon::TensorData& t : f->tensors()) add_tensor(&b, t.name, t.nbytes, t.shape);
  mixcon::WriterInput in = mixcon::writer_input_from(*f);
  f.reset();
  write_both(in, &b, raw_path, zstd_path);
  return b;
}

// Best of two loads of `path` in decoded GB/s. The file was just written, so
// it is read from the page cache: this measures parsing, checksums and
// decompression, not the disk.
double load_speed(const std::string& path, const mixcon_model_options& opts, int64_t bytes,
                  mixcon_status* st) {
  double best = 0.0;
  for (int i = 0; i < 2; ++i) {
    mixcon_model* m = nullptr;
    const double t0 = now_s();
    *st = mixcon_model_load(path.c_str(), &opts, &m);
    const double dt = now_s() - t0;
    if (*st != MIXCON_OK) return 0.0;
    mixcon_model_free(m);
    best = std::max(best, double(bytes) / dt / 1e9);
  }
  return best;
}

int run_bench(const Options& o) {
  const double t_start = now_s();
  BenchResults r;
  mixcon::DType dt = mixcon::DType::F32;
  if (!mixcon::dtype_from_name(o.dtype, &dt))
    return report_usage(kCmd, "--dtype: '" + o.dtype + "' is not one of f32, f16, bf16, q8_0");
  const bool cuda = o.device == "cuda";
  if (cuda && !mixcon_backend_available(MIXCON_DEVICE_CUDA)) {
    std::fprintf(stderr, "mixcon bench: --device cuda: this build or machine has no CUDA backend\n");
    return kExitFailure;
  }
  const int threads = o.threads > 0 ? int(o.threads) : int(std::max(1u, std::thread::hardware_concurrency()));
  r.model = o.preset.empty() ? o.model_path : o.preset;
  r.device = o.device;
  r.threads = threads;
  r.prompt = o.prompt;
  r.gen = o.gen;
  r.cpu_model = mixcon::bench::cpu_model_name();
  r.cpu_features = mixcon::bench::cpu_features();
  r.kernel_path = mixcon::cpu::cpu_kernel_path();
  r.gpu = mixcon::bench::gpu_name();
  r.llc_bytes = mixcon::bench::last_level_cache_bytes();
  // Recorded because it changes the bandwidth and FMA probes (OpenMP) and the
  // parallel load; the kernels use their own worker team and ignore it.
  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
  r.omp_wait_policy = wait_policy ? wait_policy : "";

  TempDir tmp;
  if (!tmp.ok()) {
    std::fprintf(stderr, "mixcon bench: cannot create a temporary directory\n");
    return kExitFailure;
  }
  const std::string raw_path = tmp.file("model.mixc"), zstd_path = tmp.file("model.zstd.mixc");
  Built built = o.preset.empty() ? build_from_file(o, raw_path, zstd_path)
                                 : build_preset(o, dt, raw_path, zstd_path);
  const mixcon::ModelConfig& cfg = built.config;
  r.load_bytes = int64_t(built.raw.size());
  const int64_t max_ctx_needed = o.contexts.back() + o.gen;
  if (o.prompt > cfg.max_context || max_ctx_needed > cfg.max_context)
    return report_usage(kCmd, "the model holds " + std::to_string(cfg.max_context) +
                                  " tokens; --prompt and the largest --contexts + --gen must fit");

  Handles h;
  mixcon_model_options mo;
  mixcon_model_options_init(&mo);
  mo.n_threads = threads;
  mo.device = cuda ? MIXCON_DEVICE_CUDA : MIXCON_DEVICE_CPU;
  note("loading the model");
  mixcon_status st = mixcon_model_load_memory(built.raw.data(), int64_t(built.raw.size()), &mo, &h.model);
  if (st != MIXCON_OK) return report_failure(kCmd, "cannot load the model", st);
  std::vector<uint8_t>().swap(built.raw);
  mixcon_model_info_t info;
  mixcon_model_info_init(&info);
  mixcon_model_info(h.model, &info);
  r.weight_bytes = info.weight_bytes;
  r.n_params = info.n_params;
  static const char* const kDtypeNames[] = {"f32", "f16", "bf16", "q8_0"};
  r.dtype = info.weight_dtype >= 0 && info.weight_dtype < 4 ? kDtypeNames[info.weight_dtype] : o.dtype;
  if (!o.preset.empty()) r.dtype = o.dtype;
  mixcon::DType model_dt = dt;
  mixcon::dtype_from_name(r.dtype, &model_dt);
  r.kv_dtype = kDtypeNames[o.kv_dtype];
  r.activations = kDtypeNames[o.activations];
  r.prefill_chunk = o.prefill_chunk > 0 ? o.prefill_chunk : mixcon::kDefaultPrefillChunk;
  // One key's bytes; -1 for q8_0 with heads of partial blocks, which the
  // sessions refuse (UNSUPPORTED) before any figure uses it.
  const int64_t kv_bytes =
      mixcon::dtype_row_bytes(static_cast<mixcon::DType>(o.kv_dtype), cfg.attention.head_dim);

  note("load speed (raw, zstd)");
  r.load_raw_GBs = load_speed(raw_path, mo, r.load_bytes, &st);
  if (st != MIXCON_OK) return report_failure(kCmd, "cannot load the raw file", st);
  r.load_zstd_GBs = load_speed(zstd_path, mo, r.load_bytes, &st);
  if (st != MIXCON_OK) return report_failure(kCmd, "cannot load the zstd file", st);

  mixcon_sampler_options so;
  mixcon_sampler_options_init(&so);
  so.temperature = 0.0f;
  st = mixcon_sampler_create(&so, &h.greedy);
  if (st != MIXCON_OK) return report_failure(kCmd, "cannot create the sampler", st);
  auto new_session = [&](int64_t max_context, mixcon_session** out) {
    mixcon_session_options opts;
    mixcon_session_options_init(&opts);
    opts.n_threads = threads;
    opts.max_context = max_context;
    opts.kv_dtype = o.kv_dtype;
    opts.prefill_chunk = o.prefill_chunk;
    opts.activation_dtype = o.activations;
    return mixcon_session_create(h.model, &opts, out);
  };

  // Peaks on the same threads. By default the CPU kernels compute every
  // dtype with f32 FMAs on exactly converted weights (int8 or bf16
  // activations would break the 1e-4 golden tolerance), so f32 FMA is the
  // peak of the path used; with --activations q8_0 a q8_0 model's products
  // run as int8 dot products (VNNI where the CPU has it, else AVX2's), with --activations
  // bf16 a bf16 model's as bf16 dot products. PERF.md's bar for
  // the dtype is measured too, when it is another.
  PeakKind used = PeakKind::F32Fma;
  if (o.activations == MIXCON_DTYPE_Q8_0 && model_dt == mixcon::DType::Q8_0) used = int8_peak_kind();
  if (o.activations == MIXCON_DTYPE_BF16 && model_dt == mixcon::DType::BF16 &&
      mixcon::bench::cpu_has_peak_kind(PeakKind::Bf16Dot))
    used = PeakKind::Bf16Dot;
  if (cuda) {
    const bool bf16_path = o.activations == MIXCON_DTYPE_BF16 && model_dt == mixcon::DType::BF16;
    r.peak_kind = bf16_path ? "cuda-bf16-gemm" : "cuda-f32-gemm";
    r.peak_kind_perf_md = "cuda-bf16-gemm";
    try {
      r.peak_GFLOPs = gpu_gemm_GFLOPs(bf16_path);
      r.peak_GFLOPs_perf_md = bf16_path ? r.peak_GFLOPs : gpu_gemm_GFLOPs(true);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mixcon bench: the GPU GEMM probe failed: %s\n", e.what());
      return kExitFailure;
    }
  } else {
    r.peak_kind = mixcon::bench::peak_kind_name(used);
    r.peak_GFLOPs = mixcon::bench::measure_peak_GFLOPs(used, threads);
    const PeakKind target = perf_md_peak_kind(model_dt);
    r.peak_kind_perf_md = mixcon::bench::peak_kind_name(target);
    r.peak_GFLOPs_perf_md = target == used ? r.peak_GFLOPs
                                           : mixcon::bench::measure_peak_GFLOPs(target, threads);
  }

  // Prefill: a fresh session (reset) feeds the prompt as one chunk.
  note("prefill " + std::to_string(o.prompt) + " tokens x " + std::to_string(kRuns));
  {
    mixcon_session* s = nullptr;
    st = new_session(o.prompt, &s);
    if (st != MIXCON_OK) return report_failure(kCmd, "cannot create a session", st);
    h.sessions.push_back(s);
    const std::vector<int32_t> prompt = random_tokens(o.prompt, cfg.vocab_size, kSeed + 1);
    for (int i = 0; i < kRuns; ++i) {
      mixcon_session_reset(s);
      const double t0 = now_s();
      st = mixcon_session_feed(s, prompt.data(), o.prompt);
      const double t = now_s() - t0;
      if (st != MIXCON_OK) return report_failure(kCmd, "prefill failed", st);
      r.prefill_runs.push_back(double(o.prompt) / t);
    }
    r.prefill_tok_s = median(r.prefill_runs);
    mixcon_session_free(s);
    h.sessions.pop_back();
  }
  r.flops_per_token = mixcon::bench::prefill_flops_per_token(cfg, o.prompt);
  r.roofline_prefill = r.peak_GFLOPs > 0 ? r.flops_per_token * r.prefill_tok_s / (r.peak_GFLOPs * 1e9) : 0.0;
  r.roofline_prefill_perf_md =
      r.peak_GFLOPs_perf_md > 0 ? r.flops_per_token * r.prefill_tok_s / (r.peak_GFLOPs_perf_md * 1e9) : 0.0;

  // Session memory per context, and the KV growth per token from two sizes
  // 256 tokens apart, both past 1024 tokens so that buffers capped at a
  // chunk size (the prefill workspace) no longer grow with max_context.
  std::vector<int64_t> state_bytes;
  for (int64_t c : o.contexts) {
    mixcon_session* s = nullptr;
    st = new_session(c, &s);
    if (st != MIXCON_OK) return report_failure(kCmd, "cannot create a session", st);
    state_bytes.push_back(mixcon_session_memory_bytes(s));
    mixcon_session_free(s);
  }
  {
    const int64_t c0 = std::min<int64_t>(std::max<int64_t>(o.contexts.front(), 1024), cfg.max_context - 256);
    mixcon_session *a = nullptr, *b = nullptr;
    st = new_session(c0, &a);
    if (st == MIXCON_OK) st = new_session(c0 + 256, &b);
    if (st != MIXCON_OK) {
      mixcon_session_free(a);
      return report_failure(kCmd, "cannot create a session", st);
    }
    r.kv_bytes_per_token = (mixcon_session_memory_bytes(b) - mixcon_session_memory_bytes(a)) / 256;
    mixcon_session_free(a);
    mixcon_session_free(b);
  }
  r.kv_bytes_per_token_expected = mixcon::bench::expected_kv_bytes_per_token(cfg, kv_bytes);

  // Decode: fill one session up to each context in turn (prefill chunks);
  // each timed run starts from a fork of the filled session, so every run
  // decodes from exactly `c` tokens and the fill is paid once.
  mixcon_session* fill = nullptr;
  st = new_session(max_ctx_needed, &fill);
  if (st != MIXCON_OK) return report_failure(kCmd, "cannot create a session", st);
  h.sessions.push_back(fill);
  const std::vector<int32_t> stream = random_tokens(o.contexts.back(), cfg.vocab_size, kSeed + 2);
  std::vector<uint8_t> state_buf;
  std::vector<double> bw_readings;
  // The bound decode is held to: the CPU's read bandwidth on the same
  // threads, or the GPU's own (a failed GPU probe reads 0: no roofline).
  auto read_bandwidth = [&]() -> double {
    if (!cuda) return mixcon::bench::measure_read_bandwidth_GBs(threads);
    try {
      return gpu_read_bandwidth_GBs();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mixcon bench: the GPU bandwidth probe failed: %s\n", e.what());
      return 0.0;
    }
  };
  for (size_t ci = 0; ci < o.contexts.size(); ++ci) {
    const int64_t c = o.contexts[ci];
    ContextFigures f;
    f.context = c;
    f.state_bytes = state_bytes[ci];
    note("filling the context to " + std::to_string(c));
    for (int64_t pos = mixcon_session_position(fill); pos < c;) {
      const int64_t n = std::min(kFillChunk, c - pos);
      st = mixcon_session_feed(fill, stream.data() + pos, n);
      if (st != MIXCON_OK) return report_failure(kCmd, "filling the context failed", st);
      pos += n;
    }
    // Bandwidth readings between the contexts' timed runs: each context is
    // held to the larger of the readings just before and just after it.
    bw_readings.push_back(read_bandwidth());
    note("decode " + std::to_string(o.gen) + " tokens x " + std::to_string(kRuns) + " at " +
         std::to_string(c));
    std::vector<double> fork_us, save_us;
    for (int i = 0; i < kRuns; ++i) {
      mixcon_session* s = nullptr;
      const double t0 = now_s();
      st = mixcon_session_fork(fill, &s);
      fork_us.push_back((now_s() - t0) * 1e6);
      if (st != MIXCON_OK) return report_failure(kCmd, "fork failed", st);
      h.sessions.push_back(s);
      const double t1 = now_s();
      for (int64_t g = 0; g < o.gen; ++g) {
        int32_t tok = 0;
        st = mixcon_session_step(s, h.greedy, &tok);
        if (st != MIXCON_OK) return report_failure(kCmd, "decode step failed", st);
      }
      f.decode_runs.push_back(double(o.gen) / (now_s() - t1));
      mixcon_session_free(s);
      h.sessions.pop_back();
    }
    const int64_t need = mixcon_session_state_size(fill);
    if (int64_t(state_buf.size()) < need) state_buf.resize(size_t(need));
    for (int i = 0; i < kRuns; ++i) {
      int64_t written = 0;
      const double t0 = now_s();
      st = mixcon_session_state_save(fill, state_buf.data(), int64_t(state_buf.size()), &written);
      save_us.push_back((now_s() - t0) * 1e6);
      if (st != MIXCON_OK) return report_failure(kCmd, "state save failed", st);
      f.state_save_bytes = written;
    }
    f.decode_tok_s = median(f.decode_runs);
    f.fork_us = median(fork_us);
    f.state_save_us = median(save_us);
    // The timed steps run at positions c .. c+gen-1: the KV read is taken at
    // their mean.
    f.bytes = mixcon::bench::decode_bytes_per_token(cfg, built.tensors, double(c) + double(o.gen - 1) / 2.0, kv_bytes);
    r.contexts.push_back(f);
  }
  bw_readings.push_back(read_bandwidth());
  r.mem_bw_GBs = bw_readings.front();
  r.mem_bw_GBs_end = bw_readings.back();
  for (size_t ci = 0; ci < r.contexts.size(); ++ci) {
    ContextFigures& f = r.contexts[ci];
    f.mem_bw_GBs = std::max(bw_readings[ci], bw_readings[ci + 1]);
    f.roofline_decode = f.mem_bw_GBs > 0 ? f.bytes.total() * f.decode_tok_s / (f.mem_bw_GBs * 1e9) : 0.0;
  }
  r.total_seconds = now_s() - t_start;

  std::fputs(results_table(r).c_str(), stdout);
  if (!o.json_path.empty()) {
    std::ofstream jf(o.json_path);
    jf << results_json(r).dump(2) << "\n";
    if (!jf) {
      std::fprintf(stderr, "mixcon bench: cannot write %s\n", o.json_path.c_str());
      return kExitFailure;
    }
  }
  return 0;
}

}  // namespace

int cmd_bench(int argc, char** argv) {
  Options o;
  const std::vector<Option> options = {
      opt_string({"--preset"}, "NAME", &o.preset,
                 "a random model of a MODEL.md preset built in memory: bench-small, tiny-random, "
                 "paper (default bench-small unless -m)"),
      opt_string({"-m", "--model"}, "MODEL", &o.model_path, "benchmark this .mixc file instead"),
      opt_string({"--dtype"}, "T", &o.dtype, "weight dtype of the preset: f32 f16 bf16 q8_0 (default f32)"),
      opt_int({"-t", "--threads"}, "N", &o.threads, "CPU threads, 0 = all cores (default 0)", 0, 4096),
      opt_int({"--prompt"}, "N", &o.prompt, "prefill prompt length (default 512)", 1, int64_t(1) << 30),
      opt_int({"--gen"}, "N", &o.gen, "decode steps timed per run (default 128)", 1, int64_t(1) << 30),
      opt_string({"--contexts"}, "C1,C2,..", &o.contexts_text,
                 "contexts to decode at (default 512,4096,32768)"),
      opt_kv_dtype(&o.kv_dtype),
      opt_prefill_chunk(&o.prefill_chunk),
      opt_activations(&o.activations),
      opt_string({"--device"}, "D", &o.device, "cpu or cuda (default cpu)"),
      opt_string({"--json"}, "FILE", &o.json_path, "also write every figure as one JSON object"),
  };
  bool help = false;
  const std::string err = parse_args(argc, argv, 1, options, &help);
  if (help) {
    std::printf(
        "usage: mixcon bench [--preset bench-small | -m MODEL] [--dtype f32|f16|bf16|q8_0]\n"
        "                    [--threads N] [--prompt 512] [--gen 128] [--contexts 512,4096,32768]\n"
        "                    [--kv-dtype f32|f16|bf16] [--prefill-chunk 512] [--device cpu|cuda]\n"
        "                    [--json FILE]\n\n"
        "Measures prefill and decode speed, the machine's read bandwidth and FMA peak, and the\n"
        "fraction of those bounds reached (PERF.md). Every figure is a median of 3 runs.\n\n%s",
        describe_options(options).c_str());
    return 0;
  }
  if (!err.empty()) return report_usage(kCmd, err);
  if (!o.preset.empty() && !o.model_path.empty())
    return report_usage(kCmd, "give --preset or -m, not both");
  if (o.preset.empty() && o.model_path.empty()) o.preset = "bench-small";
  if (!o.model_path.empty() && !o.dtype.empty())
    return report_usage(kCmd, "--dtype applies to --preset only (a file has its own dtypes)");
  if (o.dtype.empty()) o.dtype = "f32";
  if (o.device != "cpu" && o.device != "cuda")
    return report_usage(kCmd, "--device: '" + o.device + "' is not cpu or cuda");
  if (!parse_contexts(o.contexts_text, &o.contexts))
    return report_usage(kCmd, "--contexts: '" + o.contexts_text +
                                  "' is not a comma-separated list of positive integers");
  if (!o.preset.empty() && o.preset != "bench-small" && o.preset != "tiny-random" && o.preset != "paper")
    return report_usage(kCmd, "--preset: '" + o.preset + "' is not bench-small, tiny-random or paper");
  try {
    return run_bench(o);
  } catch (const mixcon::Error& e) {
    std::fprintf(stderr, "mixcon bench: %s\n", e.what());
    return kExitFailure;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "mixcon bench: out of memory\n");
    return kExitFailure;
  }
}

}  // namespace mixcon_cli
