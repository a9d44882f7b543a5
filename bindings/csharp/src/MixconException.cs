using System;

namespace Mixcon
{
    /// <summary>A failed MixCon call: the status and the library's detailed message
    /// (mixcon_last_error).</summary>
    public class MixconException : Exception
    {
        public MixconException(Status status, string detail)
            : this((int)status, detail)
        {
        }

        MixconException(int code, string detail)
            : base(NameOf(code) + ": " + detail)
        {
            Code = code;
            Detail = detail;
        }

        /// <summary>The status; a code newer than this binding keeps its number.</summary>
        public Status Status { get { return (Status)Code; } }

        /// <summary>The raw mixcon_status number.</summary>
        public int Code { get; private set; }

        /// <summary>The library's message, without the status prefix.</summary>
        public string Detail { get; private set; }

        // Called from native code through the registered error callback.
        internal static MixconException FromNative(int code, string detail)
        {
            return new MixconException(code, detail);
        }

        internal static MixconException Closed(string what)
        {
            return new MixconException(Status.InvalidArgument, what + " is closed");
        }

        static string NameOf(int code)
        {
            return Enum.IsDefined(typeof(Status), code) ? ((Status)code).ToString() : code.ToString();
        }
    }
}
