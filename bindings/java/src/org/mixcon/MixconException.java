package org.mixcon;

import java.nio.charset.StandardCharsets;

/**
 * A failed MixCon call: the status code and the library's detailed message
 * ({@code mixcon_last_error()}). Unchecked, like {@link java.io.UncheckedIOException},
 * so iterators and lambdas can propagate it.
 */
public class MixconException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final Status status;
  private final int code;
  private final String detail;

  public MixconException(Status status, String message) {
    this(status, status.code(), message);
  }

  private MixconException(Status status, int code, String message) {
    super(status + ": " + message);
    this.status = status;
    this.code = code;
    this.detail = message;
  }

  /** The status, or {@link Status#UNKNOWN} for a code newer than this binding. */
  public Status status() {
    return status;
  }

  /** The raw {@code mixcon_status} number. */
  public int code() {
    return code;
  }

  /** The library's message, without the status prefix. */
  public String detail() {
    return detail;
  }

  /** Called from the JNI wrappers; the message arrives as UTF-8 bytes. */
  static MixconException fromNative(int code, byte[] utf8Message) {
    return new MixconException(
        Status.fromCode(code), code, new String(utf8Message, StandardCharsets.UTF_8));
  }

  static MixconException closed(String what) {
    return new MixconException(Status.INVALID_ARGUMENT, what + " is closed");
  }
}
