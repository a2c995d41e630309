/* libsecp256k1.c's stand-in for libc's stdlib.h: libsecp256k1 names these, the module never calls them */
#pragma once
#include <stddef.h>
void *malloc(size_t size);
void free(void *p);
void abort(void);
