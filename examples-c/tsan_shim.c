/*
 * Linked only into the ThreadSanitizer build of the C tests. When the Rust
 * library is built with -Zsanitizer=thread (see mk/30-c.mk), rustc's LLVM
 * emits calls to __tsan_memcpy/__tsan_memset/__tsan_memmove, which newer
 * TSan runtimes provide and GCC 12's libtsan does not. These forward to
 * the intercepted libc functions, which check the ranges the same way.
 */
#include <stddef.h>
#include <string.h>

void *__tsan_memcpy(void *dst, const void *src, size_t n);
void *__tsan_memset(void *dst, int c, size_t n);
void *__tsan_memmove(void *dst, const void *src, size_t n);

void *__tsan_memcpy(void *dst, const void *src, size_t n) { return memcpy(dst, src, n); }
void *__tsan_memset(void *dst, int c, size_t n) { return memset(dst, c, n); }
void *__tsan_memmove(void *dst, const void *src, size_t n) { return memmove(dst, src, n); }
