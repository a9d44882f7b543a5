package org.mixcon;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The size-query convention of the native layer: a fill function returns the
 * size it needs and writes only when that fits, so a too-small first guess
 * costs one more call.
 */
final class Sized {
  interface Fill {
    long into(byte[] buf);
  }

  private Sized() {}

  static byte[] bytes(Fill fill, int guess) {
    byte[] buf = new byte[guess];
    long n = fill.into(buf);
    if (n > buf.length) {
      buf = new byte[Math.toIntExact(n)];
      n = fill.into(buf);
    }
    return n == buf.length ? buf : Arrays.copyOf(buf, (int) n);
  }

  static String text(Fill fill, int guess) {
    return new String(bytes(fill, guess), StandardCharsets.UTF_8);
  }
}
