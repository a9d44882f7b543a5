package org.mixcon;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Loads libmixcon_jni.so. An installed copy on java.library.path wins (a
 * distribution package puts it in /usr/lib/&lt;triplet&gt;/jni); otherwise the
 * copy inside this jar, under org/mixcon/native/&lt;os&gt;-&lt;arch&gt;/, is unpacked to a
 * private temporary folder together with libmixcon.so.1, which the JNI library
 * finds next to itself (its RUNPATH is $ORIGIN).
 */
final class NativeLoader {
  private static final String JNI_LIBRARY = "mixcon_jni";
  private static final String[] BUNDLED = {"libmixcon.so.1", "libmixcon_jni.so"};
  private static boolean loaded;

  private NativeLoader() {}

  static synchronized void load() {
    if (loaded) {
      return;
    }
    try {
      System.loadLibrary(JNI_LIBRARY);
    } catch (UnsatisfiedLinkError notInstalled) {
      loadBundled(notInstalled);
    }
    loaded = true;
  }

  private static void loadBundled(UnsatisfiedLinkError notInstalled) {
    String dir = "native/" + platform() + "/";
    try {
      Path tmp = Files.createTempDirectory("mixcon-jni");
      tmp.toFile().deleteOnExit();
      Path jni = null;
      for (String name : BUNDLED) {
        try (InputStream in = NativeLoader.class.getResourceAsStream(dir + name)) {
          if (in == null) {
            UnsatisfiedLinkError e = new UnsatisfiedLinkError(
                "mixcon: no native library for " + platform() + " in the jar (" + dir + name
                    + ") and none on java.library.path");
            e.addSuppressed(notInstalled);
            throw e;
          }
          Path out = tmp.resolve(name);
          Files.copy(in, out, StandardCopyOption.REPLACE_EXISTING);
          out.toFile().deleteOnExit();
          jni = out;
        }
      }
      System.load(jni.toAbsolutePath().toString());
    } catch (IOException e) {
      UnsatisfiedLinkError err = new UnsatisfiedLinkError(
          "mixcon: cannot unpack the native library: " + e.getMessage());
      err.initCause(e);
      throw err;
    }
  }

  /** "linux-x86-64", "linux-aarch64", ...: the jar's resource folder names. */
  static String platform() {
    String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
    if (os.startsWith("linux")) {
      os = "linux";
    } else if (os.startsWith("mac")) {
      os = "darwin";
    } else if (os.startsWith("windows")) {
      os = "windows";
    }
    if (arch.equals("amd64") || arch.equals("x86_64")) {
      arch = "x86-64";
    }
    return os + "-" + arch;
  }
}
