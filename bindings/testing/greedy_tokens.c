/* The C reference the binding tests compare against: loads a model through
 * the C API, feeds the given token ids, and prints the next N greedily
 * chosen tokens, space-separated, on one line.
 *
 * Usage: mixcon_greedy_tokens MODEL N TOKEN [TOKEN...]
 * Exit status 1 with the library's message on stderr on any failure. */
#include <stdio.h>
#include <stdlib.h>

#include "mixcon.h"

static int fail(const char* what, mixcon_status s) {
  fprintf(stderr, "%s: %s: %s\n", what, mixcon_status_string(s), mixcon_last_error());
  return 1;
}

int main(int argc, char** argv) {
  mixcon_model* model = NULL;
  mixcon_session* session = NULL;
  mixcon_sampler* sampler = NULL;
  mixcon_sampler_options so;
  mixcon_status s;
  int32_t* prompt;
  int n_prompt, n, i, rc = 0;

  if (argc < 4) {
    fprintf(stderr, "usage: %s MODEL N TOKEN [TOKEN...]\n", argv[0]);
    return 2;
  }
  n = atoi(argv[2]);
  n_prompt = argc - 3;
  prompt = (int32_t*)malloc(sizeof(int32_t) * (size_t)n_prompt);
  if (!prompt) return 1;
  for (i = 0; i < n_prompt; ++i) prompt[i] = (int32_t)atol(argv[3 + i]);

  if ((s = mixcon_model_load(argv[1], NULL, &model)) != MIXCON_OK) {
    rc = fail("load", s);
    goto done;
  }
  if ((s = mixcon_session_create(model, NULL, &session)) != MIXCON_OK) {
    rc = fail("session", s);
    goto done;
  }
  mixcon_sampler_options_init(&so);
  so.temperature = 0.0f; /* greedy */
  if ((s = mixcon_sampler_create(&so, &sampler)) != MIXCON_OK) {
    rc = fail("sampler", s);
    goto done;
  }
  if ((s = mixcon_session_feed(session, prompt, n_prompt)) != MIXCON_OK) {
    rc = fail("feed", s);
    goto done;
  }
  for (i = 0; i < n; ++i) {
    int32_t token;
    if ((s = mixcon_session_step(session, sampler, &token)) != MIXCON_OK) {
      rc = fail("step", s);
      goto done;
    }
    printf(i ? " %d" : "%d", (int)token);
  }
  printf("\n");
done:
  mixcon_sampler_free(sampler);
  mixcon_session_free(session);
  mixcon_model_free(model);
  free(prompt);
  return rc;
}
