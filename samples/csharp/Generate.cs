// Streams a continuation of a prompt with the mixcon C# binding (Mono).
//
//   mono build/samples/csharp/Generate.exe "The jury said"
//
// The prompt comes from the arguments, else from stdin. Mixcon.dll, its
// .config, libmixcon_csharp.so and libmixcon.so.1 sit beside the program.
using System;
using System.Linq;
using Mixcon;

static class Generate
{
    static int Main(string[] args)
    {
        string path = "models/mixcon-brown.mixc";
        int tokens = 64;
        long seed = 42;
        int i = 0;
        for (; i < args.Length && args[i].StartsWith("-") && args[i].Length > 1; i += 2)
        {
            if (i + 1 >= args.Length)
                return Usage();
            switch (args[i])
            {
                case "-m": path = args[i + 1]; break;
                case "-n": tokens = int.Parse(args[i + 1]); break;
                case "--seed": seed = long.Parse(args[i + 1]); break;
                default: return Usage();
            }
        }
        string prompt = i < args.Length
            ? string.Join(" ", args.Skip(i))
            : Console.In.ReadToEnd().TrimEnd('\r', '\n');

        var stdout = Console.OpenStandardOutput();
        var utf8 = new System.IO.StreamWriter(stdout, new System.Text.UTF8Encoding(false)) { AutoFlush = true };
        try
        {
            using (var model = new Model(path))
            using (var session = model.NewSession())
            using (var sampler = new Sampler(temperature: 0.8, topP: 0.95, seed: seed))
            {
                session.FeedText(prompt); // prefill: the whole prompt in one call
                utf8.Write(prompt);
                foreach (string piece in session.Generate(sampler, tokens))
                    utf8.Write(piece);
                utf8.WriteLine();
            }
        }
        catch (MixconException e)
        {
            Console.Error.WriteLine("Generate: " + e.Message);
            return 1;
        }
        return 0;
    }

    static int Usage()
    {
        Console.Error.WriteLine("usage: Generate.exe [-m MODEL] [-n TOKENS] [--seed N] [PROMPT...]");
        return 2;
    }
}
