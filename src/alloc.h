/* alloc.h - the library's allocator, shared by the core and cJSON. */
#ifndef REBATCH_ALLOC_H
#define REBATCH_ALLOC_H

#include <stddef.h>

void *rb_malloc(size_t size);
void *rb_calloc(size_t count, size_t size);
void *rb_realloc(void *ptr, size_t size);
void rb_free(void *ptr);
/* A copy of s made with rb_malloc, or NULL (also when s is NULL). */
char *rb_strdup(const char *s);
char *rb_strndup(const char *s, size_t n);

#endif
