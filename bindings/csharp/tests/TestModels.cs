using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using NUnit.Framework;

namespace Mixcon.Tests
{
    /// <summary>The files ctest points the tests at: MIXCON_TEST_MODEL (the build's
    /// tiny random model with a trained SentencePiece tokenizer), MIXCON_DEFAULT_MODEL
    /// (models/mixcon-brown.mixc) and MIXCON_GREEDY_TOKENS (the C reference).</summary>
    static class TestModels
    {
        internal static string Env(string name)
        {
            string v = Environment.GetEnvironmentVariable(name);
            if (string.IsNullOrEmpty(v))
                Assert.Fail(name + " is not set; run these tests through ctest");
            return v;
        }

        internal static string TestModel { get { return Env("MIXCON_TEST_MODEL"); } }

        /// <summary>The default model; the test is ignored while it is not in the tree.</summary>
        internal static string DefaultModel
        {
            get
            {
                string path = Env("MIXCON_DEFAULT_MODEL");
                if (!File.Exists(path))
                    Assert.Ignore("default model " + path + " is not in the tree yet");
                return path;
            }
        }

        /// <summary>The C API's greedy continuation of prompt.</summary>
        internal static int[] CGreedyTokens(string model, int n, params int[] prompt)
        {
            var info = new ProcessStartInfo(Env("MIXCON_GREEDY_TOKENS"),
                model + " " + n + " " + string.Join(" ", prompt))
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
            };
            using (var p = Process.Start(info))
            {
                string output = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                Assert.AreEqual(0, p.ExitCode, "C reference failed: " + output);
                return output.Split(new[] { ' ', '\n' }, StringSplitOptions.RemoveEmptyEntries)
                             .Select(int.Parse).ToArray();
            }
        }
    }
}
