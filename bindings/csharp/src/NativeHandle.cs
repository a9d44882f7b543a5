using System;
using System.Threading;

namespace Mixcon
{
    /// <summary>One owned native pointer, freed exactly once: by Dispose, or by the
    /// owner's finalizer if the owner is collected first (the C API's frees are
    /// thread-safe and order-independent: a session keeps its model alive).
    /// Owners call GC.KeepAlive(this) after native calls, so the finalizer cannot
    /// run mid-call.</summary>
    internal sealed class NativeHandle<T> where T : class
    {
        readonly string what;
        readonly Action<T> free;
        T ptr;

        internal NativeHandle(string what, T ptr, Action<T> free)
        {
            this.what = what;
            this.ptr = ptr;
            this.free = free;
        }

        /// <summary>The pointer, or MixconException(InvalidArgument) once closed.</summary>
        internal T Get()
        {
            T p = Volatile.Read(ref ptr);
            if (p == null)
                throw MixconException.Closed(what);
            return p;
        }

        internal bool IsClosed { get { return Volatile.Read(ref ptr) == null; } }

        internal void Release()
        {
            T p = Interlocked.Exchange(ref ptr, null);
            if (p != null)
                free(p);
        }
    }
}
