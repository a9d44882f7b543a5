// mixcon info: what a model file holds.
#include <cstdio>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"

namespace mixcon_cli {
namespace {

const char* dtype_name(int32_t dtype) {
  switch (dtype) {
    case MIXCON_DTYPE_F32: return "f32";
    case MIXCON_DTYPE_F16: return "f16";
    case MIXCON_DTYPE_BF16: return "bf16";
    case MIXCON_DTYPE_Q8_0: return "q8_0";
    default: return "unknown";
  }
}

std::string human_bytes(int64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", v, units[u]);
  return buf;
}

}  // namespace

int cmd_info(int argc, char** argv) {
  const char* cmd = "info";
  std::string model_path;
  int64_t n_threads = 0;
  const std::vector<Option> options = {
      opt_string({"-m", "--model"}, "MODEL", &model_path, "the .mixc model file", true),
      opt_int({"-t", "--threads"}, "T", &n_threads, "CPU threads, 0 = all cores (default 0)", 0,
              INT32_MAX),
  };
  bool help = false;
  const std::string err = parse_args(argc, argv, 1, options, &help);
  if (help) {
    std::printf("usage: mixcon info -m MODEL\n\n"
                "Prints the model's configuration, sizes, dtypes, tokenizer and metadata.\n\n%s",
                describe_options(options).c_str());
    return 0;
  }
  if (!err.empty()) return report_usage(cmd, err);

  mixcon_model* model = load_model(cmd, model_path, n_threads);
  if (!model) return kExitFailure;
  mixcon_model_info_t info;
  mixcon_model_info_init(&info);
  const mixcon_status st = mixcon_model_info(model, &info);
  if (st != MIXCON_OK) {
    mixcon_model_free(model);
    return report_failure(cmd, "model info", st);
  }
  const auto i64 = [](int64_t v) { return static_cast<long long>(v); };
  std::printf("file:               %s\n", model_path.c_str());
  std::printf("vocab size:         %lld\n", i64(info.n_vocab));
  std::printf("d_model:            %lld\n", i64(info.d_model));
  std::printf("layers:             %lld (%lld attention, %lld conba; %lld MoE, %lld MLP)\n",
              i64(info.n_layers), i64(info.n_attention_layers), i64(info.n_conba_layers),
              i64(info.n_moe_layers), i64(info.n_layers - info.n_moe_layers));
  std::printf("max context:        %lld\n", i64(info.max_context));
  std::printf("parameters:         %lld\n", i64(info.n_params));
  std::printf("weights:            %s (%lld bytes), large matrices %s\n",
              human_bytes(info.weight_bytes).c_str(), i64(info.weight_bytes),
              dtype_name(info.weight_dtype));
  std::printf("device:             %s, %d threads\n",
              info.device == MIXCON_DEVICE_CUDA ? "CUDA" : "CPU", static_cast<int>(info.n_threads));
  if (info.has_tokenizer)
    std::printf("tokenizer:          sentencepiece (bos %d, eos %d, unk %d, pad %d, add_bos %s)\n",
                info.bos_id, info.eos_id, info.unk_id, info.pad_id, info.add_bos ? "yes" : "no");
  else
    std::printf("tokenizer:          none (token ids only)\n");
  std::printf("config:             %s\n", mixcon_model_config_json(model));
  std::printf("metadata:           %s\n", mixcon_model_metadata_json(model));
  mixcon_model_free(model);
  return 0;
}

}  // namespace mixcon_cli
