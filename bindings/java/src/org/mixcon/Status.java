package org.mixcon;

/**
 * The C API's {@code mixcon_status} codes. The numbers are pinned forever by capi/mixcon.h
 * (StatusTest checks each name against the library's mixcon_status_string).
 */
public enum Status {
  OK(0),
  INVALID_ARGUMENT(1),
  BUFFER_TOO_SMALL(2),
  IO(3),
  FORMAT(4),
  CHECKSUM(5),
  UNSUPPORTED(6),
  OUT_OF_MEMORY(7),
  CONTEXT_FULL(8),
  CANCELLED(9),
  BACKEND(10),
  INTERNAL(11),
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
