/* One SWIG interface for the Python, Java and C# bindings of capi/mixcon.h.
 *
 * SWIG wraps the flat functions of mixcon_binding.h (handles in, values out);
 * each language then has a small hand-written layer (Model, Session, Sampler)
 * that owns the handles, closes them deterministically and on GC, and turns
 * UTF-8 bytes into the language's strings. Keeping the classes hand-written
 * rather than generated lets every language use its own idioms (generators,
 * Iterator<String>, IEnumerable<string>, with/try-with-resources/using)
 * without SWIG proxy code strings.
 *
 * Conventions the per-language .swg files implement, by parameter name:
 *   (const uint8_t* BYTES_IN, int64_t N_BYTES_IN)    bytes / byte[] in
 *   (const int32_t* TOKENS_IN, int64_t N_TOKENS_IN)  list[int] / int[] in
 *   (uint8_t* BYTES_OUT, int64_t BYTES_CAP)          writable bytearray / byte[]
 *   (int32_t* TOKENS_OUT, int64_t TOKENS_CAP)        writable array('i') / int[]
 *   (float* FLOATS_OUT, int64_t FLOATS_CAP)          writable array('f') / float[]
 * Every helper records a failure in the thread-local mxb_status; the
 * %exception block below raises the language's exception (status code plus
 * mixcon_last_error()) right after the call returns.
 */

/* The module name comes from the build (-module): mixcon.native for Python,
 * MixconNative for Java and C#. threads="1" lets %thread release the GIL. */
%module(threads="1") mixcon_native

%{
#include "mixcon_binding.h"
%}

%include <stdint.i>

/* Callers see version(), model_load(), session_step(), ... */
%rename("%(strip:[mxb_])s") "";

#if defined(SWIGPYTHON)
%include "mixcon_python.swg"
#elif defined(SWIGJAVA)
%include "mixcon_java.swg"
#elif defined(SWIGCSHARP)
%include "mixcon_csharp.swg"
#else
#error "mixcon.i: no typemaps for this target language"
#endif

/* Opaque handles: no proxy constructors or destructors; the idiomatic layer
 * frees them through model_free/session_free/sampler_free. */
typedef struct mixcon_model mixcon_model;
typedef struct mixcon_session mixcon_session;
typedef struct mixcon_sampler mixcon_sampler;

/* Status -> exception. MXB_RAISE is defined per language: Python raises and
 * jumps to the wrapper's cleanup (goto fail); Java leaves the exception
 * pending and lets the cleanup release the borrowed arrays; C# sets the
 * pending exception and returns (the runtime owns its pinned arrays). */
%exception {
  mxb_status = MIXCON_OK;
  mxb_message = NULL;
  $action
  if (mxb_status != MIXCON_OK) {
    MXB_RAISE(mxb_status);
  }
}

/* Python only: long calls run without the GIL (other Python threads keep running,
 * and one of them may call session_cancel). Everything else keeps the GIL. */
#ifdef SWIGPYTHON
%nothread;
%thread mxb_model_load;
%thread mxb_model_load_memory;
%thread mxb_session_feed;
%thread mxb_session_feed_text;
%thread mxb_session_sample;
%thread mxb_session_step;
%thread mxb_session_next_text;
%thread mxb_session_state_save;
%thread mxb_session_state_load;
%thread mxb_session_fork;
%thread mxb_session_flush_text;
#endif

/* Status codes, pinned (capi/mixcon.h). Java and C# spell the numbers in
 * their enums (a generated public constants class would clutter the API) and
 * their tests check each against status_name(). */
#ifdef SWIGPYTHON
%constant int32_t STATUS_OK = MIXCON_OK;
%constant int32_t STATUS_INVALID_ARGUMENT = MIXCON_ERR_INVALID_ARGUMENT;
%constant int32_t STATUS_BUFFER_TOO_SMALL = MIXCON_ERR_BUFFER_TOO_SMALL;
%constant int32_t STATUS_IO = MIXCON_ERR_IO;
%constant int32_t STATUS_FORMAT = MIXCON_ERR_FORMAT;
%constant int32_t STATUS_CHECKSUM = MIXCON_ERR_CHECKSUM;
%constant int32_t STATUS_UNSUPPORTED = MIXCON_ERR_UNSUPPORTED;
%constant int32_t STATUS_OUT_OF_MEMORY = MIXCON_ERR_OUT_OF_MEMORY;
%constant int32_t STATUS_CONTEXT_FULL = MIXCON_ERR_CONTEXT_FULL;
%constant int32_t STATUS_CANCELLED = MIXCON_ERR_CANCELLED;
%constant int32_t STATUS_BACKEND = MIXCON_ERR_BACKEND;
%constant int32_t STATUS_INTERNAL = MIXCON_ERR_INTERNAL;
%constant int32_t DEVICE_AUTO = MIXCON_DEVICE_AUTO;
%constant int32_t DEVICE_CPU = MIXCON_DEVICE_CPU;
%constant int32_t DEVICE_CUDA = MIXCON_DEVICE_CUDA;
#endif

%include "mixcon_binding.h"
