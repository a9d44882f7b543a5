import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.mixcon.MixconException;
import org.mixcon.Model;
import org.mixcon.Sampler;
import org.mixcon.Session;

/**
 * Streams a continuation of a prompt with the mixcon Java binding.
 *
 * <pre>
 * java -cp build/bindings/java/mixcon.jar:build/samples/java Generate "The jury said"
 * </pre>
 *
 * The prompt comes from the arguments, else from stdin. The jar carries its
 * native library: no -Djava.library.path is needed.
 */
public final class Generate {
  public static void main(String[] args) throws IOException {
    String path = "models/mixcon-brown.mixc";
    int tokens = 64;
    long seed = 42;
    int i = 0;
    for (; i < args.length && args[i].startsWith("-") && args[i].length() > 1; i += 2) {
      if (i + 1 >= args.length) {
        usage();
      }
      switch (args[i]) {
        case "-m":
          path = args[i + 1];
          break;
        case "-n":
          tokens = Integer.parseInt(args[i + 1]);
          break;
        case "--seed":
          seed = Long.parseLong(args[i + 1]);
          break;
        default:
          usage();
      }
    }
    String prompt = i < args.length
        ? String.join(" ", java.util.Arrays.copyOfRange(args, i, args.length))
        : readAll(System.in).replaceAll("[\r\n]+$", "");

    try (Model model = Model.load(path);
        Session session = model.newSession();
        Sampler sampler = Sampler.builder().temperature(0.8).topP(0.95).seed(seed).build()) {
      session.feedText(prompt); // prefill: the whole prompt in one call
      System.out.print(prompt);
      for (String piece : session.generate(sampler, tokens)) {
        System.out.print(piece);
        System.out.flush();
      }
      System.out.println();
    } catch (MixconException e) {
      System.err.println("Generate: " + e.getMessage());
      System.exit(1);
    }
  }

  private static String readAll(InputStream in) throws IOException {
    return new String(in.readAllBytes(), StandardCharsets.UTF_8);
  }

  private static void usage() {
    System.err.println("usage: Generate [-m MODEL] [-n TOKENS] [--seed N] [PROMPT...]");
    System.exit(2);
  }
}
