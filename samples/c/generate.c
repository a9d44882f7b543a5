/* Streams a continuation of a prompt: the load -> feed -> step loop of the
 * README, with every status checked.
 *
 * Usage: generate [-m MODEL] [-n TOKENS] [--seed N] [PROMPT...]
 * Without PROMPT words the prompt is read from stdin. The model defaults to
 * models/mixcon-brown.mixc. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mixcon.h>

static int report(const char* what, mixcon_status s) {
  fprintf(stderr, "generate: %s: %s: %s\n", what, mixcon_status_string(s), mixcon_last_error());
  return 1;
}

/* The prompt: the remaining arguments joined by spaces, else all of stdin. */
static char* read_prompt(int argc, char** argv) {
  size_t len = 0, cap = 256;
  char* text = malloc(cap);
  if (!text) return NULL;
  if (argc > 0) {
    for (int i = 0; i < argc; i++) {
      size_t n = strlen(argv[i]);
      while (len + n + 2 > cap) {
        char* bigger = realloc(text, cap *= 2);
        if (!bigger) return free(text), NULL;
        text = bigger;
      }
      if (i) text[len++] = ' ';
      memcpy(text + len, argv[i], n);
      len += n;
    }
  } else {
    size_t got;
    while ((got = fread(text + len, 1, cap - len - 1, stdin)) > 0) {
      len += got;
      if (len + 1 == cap) {
        char* bigger = realloc(text, cap *= 2);
        if (!bigger) return free(text), NULL;
        text = bigger;
      }
    }
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r')) len--;
  }
  text[len] = '\0';
  return text;
}

int main(int argc, char** argv) {
  const char* path = "models/mixcon-brown.mixc";
  int n_tokens = 64, first = 1, rc = 0;
  long long seed = 42;
  mixcon_model* model = NULL;
  mixcon_session* session = NULL;
  mixcon_sampler* sampler = NULL;
  mixcon_sampler_options so;
  mixcon_model_info_t info;
  mixcon_status s;
  char* prompt;
  char* piece;

  for (; first < argc && argv[first][0] == '-' && argv[first][1]; first += 2) {
    if (first + 1 >= argc) {
      fprintf(stderr, "generate: %s needs a value\n", argv[first]);
      return 2;
    }
    if (!strcmp(argv[first], "-m")) path = argv[first + 1];
    else if (!strcmp(argv[first], "-n")) n_tokens = atoi(argv[first + 1]);
    else if (!strcmp(argv[first], "--seed")) seed = atoll(argv[first + 1]);
    else {
      fprintf(stderr, "usage: %s [-m MODEL] [-n TOKENS] [--seed N] [PROMPT...]\n", argv[0]);
      return 2;
    }
  }
  prompt = read_prompt(argc - first, argv + first);
  if (!prompt) return report("prompt", MIXCON_ERR_OUT_OF_MEMORY);

  if ((s = mixcon_model_load(path, NULL, &model)) != MIXCON_OK) {
    rc = report("load", s);
    goto done;
  }
  mixcon_model_info_init(&info);
  mixcon_model_info(model, &info);
  if ((s = mixcon_session_create(model, NULL, &session)) != MIXCON_OK) {
    rc = report("session", s);
    goto done;
  }
  mixcon_sampler_options_init(&so); /* temperature 0.8, top-k 40, top-p 0.95 */
  so.seed = seed;
  if ((s = mixcon_sampler_create(&so, &sampler)) != MIXCON_OK) {
    rc = report("sampler", s);
    goto done;
  }

  /* Prefill: the whole prompt in one call. */
  if ((s = mixcon_session_feed_text(session, prompt, (int64_t)strlen(prompt))) != MIXCON_OK) {
    rc = report("feed", s);
    goto done;
  }
  fputs(prompt, stdout);

  /* Decode: one token per step; max_piece_bytes always fits a piece, so the
   * buffer is allocated once, outside the loop. */
  piece = malloc((size_t)info.max_piece_bytes + 1);
  if (!piece) {
    rc = report("buffer", MIXCON_ERR_OUT_OF_MEMORY);
    goto done;
  }
  for (int i = 0; i < n_tokens; i++) {
    int64_t len;
    int32_t token;
    s = mixcon_session_next_text(session, sampler, piece, info.max_piece_bytes + 1, &len, &token);
    if (s != MIXCON_OK) {
      rc = report("step", s);
      break;
    }
    fwrite(piece, 1, (size_t)len, stdout);
    fflush(stdout);
    if (token == info.eos_id) break;
  }
  putchar('\n');
  free(piece);
done:
  mixcon_sampler_free(sampler);
  mixcon_session_free(session);
  mixcon_model_free(model);
  free(prompt);
  return rc;
}
