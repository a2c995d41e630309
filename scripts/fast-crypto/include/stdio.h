/* libsecp256k1.c's stand-in for libc's stdio.h: named by libsecp256k1's default callbacks, which it replaces */
#pragma once
typedef struct FILE FILE;
extern FILE *stderr;
int fprintf(FILE *stream, const char *format, ...);
