#!/usr/bin/env python3
"""Rewrites kernels/cuda's sources into plain C++ for the CPU emulation.

Only two constructs are not C++: the launch syntax kernel<<<cfg>>>(args),
which becomes EmuLaunch(cfg).run(kernel, args), and `extern __shared__`,
which becomes the block's dynamic shared memory. cuBLAS comes from the
emulated header instead of dlopen, and create_backend(Device::Cuda) returns
the CUDA backend (the registry of a build without CUDA would refuse).
Usage: prepare_sources.py OUT_DIR
"""
import pathlib
import re
import sys

here = pathlib.Path(__file__).resolve().parent
cuda_dir = here.parent
out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)

launch = re.compile(r'(\w+(?:<\w+>)?)\s*<<<(.*?)>>>\(', re.S)
for src in sorted(cuda_dir.glob('*.cu')) + [cuda_dir / 'cuda_backend.cpp']:
    text = src.read_text()
    text = text.replace('extern __shared__ float smem[];', 'float* smem = emu_dynamic_smem();')
    text = launch.sub(lambda m: f'EmuLaunch({m.group(2)}).run({m.group(1)}, ', text)
    (out / (src.stem + '.cpp')).write_text(text)

(out / 'cublas_loader.cpp').write_text('''\
#include "kernels/cuda/cublas_loader.h"
namespace mixcon {
namespace cuda {
const CublasApi& cublas_api() {
  static const CublasApi api{cublasCreate_v2, cublasDestroy_v2, cublasSetStream_v2,
                             cublasSetMathMode, cublasSgemm_v2, cublasGemmEx};
  return api;
}
}  // namespace cuda
}  // namespace mixcon
''')

(out / 'backend_registry.cpp').write_text('''\
#include "core/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cuda/cuda_backend.h"
namespace mixcon {
std::unique_ptr<Backend> create_backend(Device device, int device_index) {
  if (device == Device::Cpu) return make_cpu_backend();
  return create_cuda_backend(device_index);
}
}  // namespace mixcon
''')
