/* Self test of scripts/checksrc: INCLUDEC at 2:1. */
#include "buf.c"
