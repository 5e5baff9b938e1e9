/* Self test of scripts/checksrc: HEADERGUARD at 2:1. */
#ifndef LOGTHRA_HEADER_GUARD_H
#define LOGTHRA_HEADER_GUARD_H

int f(int a);

#endif
