using System;
using System.Text;

namespace Mixcon
{
    /// <summary>The size-query convention of the native layer: a fill function
    /// returns the size it needs and writes only when that fits, so a too-small
    /// first guess costs one more call.</summary>
    internal static class Sized
    {
        internal static byte[] Bytes(Func<byte[], long> fill, int guess)
        {
            var buf = new byte[guess];
            long n = fill(buf);
            if (n > buf.Length)
            {
                buf = new byte[n];
                n = fill(buf);
            }
            if (n != buf.Length)
                Array.Resize(ref buf, (int)n);
            return buf;
        }

        internal static string Text(Func<byte[], long> fill, int guess)
        {
            return Encoding.UTF8.GetString(Bytes(fill, guess));
        }
    }
}
