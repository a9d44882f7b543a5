package org.mixcon;

/** Where a model's weights live and its sessions compute. */
public enum Device {
  AUTO(MixconNativeConstants.DEVICE_AUTO),
  CPU(MixconNativeConstants.DEVICE_CPU),
  CUDA(MixconNativeConstants.DEVICE_CUDA);

  final int code;

  Device(int code) {
    this.code = code;
  }
}
