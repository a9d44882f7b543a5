package org.mixcon;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The files ctest points the tests at: MIXCON_TEST_MODEL (the build's tiny
 * random model with a trained SentencePiece tokenizer), MIXCON_DEFAULT_MODEL
 * (models/mixcon-brown.mixc) and MIXCON_GREEDY_TOKENS (the C reference).
 */
final class TestModels {
  private TestModels() {}

  static String env(String name) {
    String v = System.getenv(name);
    if (v == null || v.isEmpty()) {
      fail(name + " is not set; run these tests through ctest");
    }
    return v;
  }

  static String testModel() {
    return env("MIXCON_TEST_MODEL");
  }

  /** The default model, or the test is skipped while it is not in the tree. */
  static String defaultModel() {
    String path = env("MIXCON_DEFAULT_MODEL");
    assumeTrue(Files.exists(Paths.get(path)), "default model " + path + " is not in the tree yet");
    return path;
  }

  /** The C API's greedy continuation of {@code prompt}. */
  static int[] cGreedyTokens(String model, int n, int... prompt) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(env("MIXCON_GREEDY_TOKENS"));
    cmd.add(model);
    cmd.add(Integer.toString(n));
    for (int t : prompt) {
      cmd.add(Integer.toString(t));
    }
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
      fail("C reference failed: " + out);
    }
    String[] parts = out.split("\\s+");
    int[] tokens = new int[parts.length];
    for (int i = 0; i < parts.length; i++) {
      tokens[i] = Integer.parseInt(parts[i]);
    }
    return tokens;
  }

  static Path missingFile() throws IOException {
    Path dir = Files.createTempDirectory("mixcon-test");
    dir.toFile().deleteOnExit();
    return dir.resolve("no-such-model.mixc");
  }
}
