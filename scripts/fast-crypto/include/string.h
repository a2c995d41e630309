/* libsecp256k1.c's stand-in for libc's string.h (it defines these itself) */
#pragma once
#include <stddef.h>
void *memcpy(void *to, const void *from, size_t n);
void *memset(void *to, int c, size_t n);
int memcmp(const void *x, const void *y, size_t n);
