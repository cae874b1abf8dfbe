/*
 * alloc.c - one allocator for the whole library.
 *
 * cJSON keeps its hooks in a process-wide variable, so ours are process wide
 * too: rebatch_set_allocator() swaps both at once. This is configuration set
 * before use, not state that changes while engines run.
 */
#include "alloc.h"
#include "rebatch.h"

#include <stdlib.h>
#include <string.h>

#include "cJSON.h"

static void *(*malloc_hook)(size_t) = malloc;
static void *(*realloc_hook)(void *, size_t) = realloc;
static void (*free_hook)(void *) = free;

void rebatch_set_allocator(void *(*malloc_fn)(size_t),
                           void *(*realloc_fn)(void *, size_t),
                           void (*free_fn)(void *)) {
  cJSON_Hooks hooks;
  malloc_hook = malloc_fn ? malloc_fn : malloc;
  realloc_hook = realloc_fn ? realloc_fn : realloc;
  free_hook = free_fn ? free_fn : free;
  /* cJSON only uses realloc when both hooks are the libc ones; with custom
   * hooks it falls back to malloc+copy, which keeps counting exact. */
  hooks.malloc_fn = malloc_hook;
  hooks.free_fn = free_hook;
  cJSON_InitHooks(&hooks);
}

void *rb_malloc(size_t size) { return malloc_hook(size ? size : 1); }

void *rb_calloc(size_t count, size_t size) {
  void *p;
  if (size && count > (size_t)-1 / size) return NULL;
  p = rb_malloc(count * size);
  if (p) memset(p, 0, count * size);
  return p;
}

void *rb_realloc(void *ptr, size_t size) {
  return realloc_hook(ptr, size ? size : 1);
}

void rb_free(void *ptr) {
  if (ptr) free_hook(ptr);
}

char *rb_strndup(const char *s, size_t n) {
  char *copy;
  if (!s) return NULL;
  copy = rb_malloc(n + 1);
  if (!copy) return NULL;
  memcpy(copy, s, n);
  copy[n] = '\0';
  return copy;
}

char *rb_strdup(const char *s) { return s ? rb_strndup(s, strlen(s)) : NULL; }

void *rebatch_alloc(size_t size) { return rb_malloc(size); }

void rebatch_free(void *ptr) { rb_free(ptr); }
