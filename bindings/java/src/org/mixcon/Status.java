package org.mixcon;

/** The C API's {@code mixcon_status} codes; the numbers are pinned by capi/mixcon.h. */
public enum Status {
  OK(MixconNativeConstants.STATUS_OK),
  INVALID_ARGUMENT(MixconNativeConstants.STATUS_INVALID_ARGUMENT),
  BUFFER_TOO_SMALL(MixconNativeConstants.STATUS_BUFFER_TOO_SMALL),
  IO(MixconNativeConstants.STATUS_IO),
  FORMAT(MixconNativeConstants.STATUS_FORMAT),
  CHECKSUM(MixconNativeConstants.STATUS_CHECKSUM),
  UNSUPPORTED(MixconNativeConstants.STATUS_UNSUPPORTED),
  OUT_OF_MEMORY(MixconNativeConstants.STATUS_OUT_OF_MEMORY),
  CONTEXT_FULL(MixconNativeConstants.STATUS_CONTEXT_FULL),
  CANCELLED(MixconNativeConstants.STATUS_CANCELLED),
  BACKEND(MixconNativeConstants.STATUS_BACKEND),
  INTERNAL(MixconNativeConstants.STATUS_INTERNAL),
  /** A code this version of the binding does not know (a newer library). */
  UNKNOWN(-1);

  private final int code;

  Status(int code) {
    this.code = code;
  }

  /** The numeric {@code mixcon_status}. */
  public int code() {
    return code;
  }

  static Status fromCode(int code) {
    for (Status s : values()) {
      if (s.code == code) {
        return s;
      }
    }
    return UNKNOWN;
  }
}
