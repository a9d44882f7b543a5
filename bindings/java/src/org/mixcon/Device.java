package org.mixcon;

/** Where a model's weights live and its sessions compute ({@code mixcon_device}; pinned numbers). */
public enum Device {
  CPU(0),
  CUDA(1),
  /** CUDA when available, else the CPU (loading only). */
  AUTO(2);

  final int code;

  Device(int code) {
    this.code = code;
  }

  static Device fromCode(int code) {
    for (Device d : values()) {
      if (d.code == code) {
        return d;
      }
    }
    throw new MixconException(Status.INTERNAL, "unknown device code " + code);
  }

  /** Whether models can be placed on this device in this build, on this machine. */
  public boolean available() {
    return MixconNative.backend_available(code) != 0;
  }
}
