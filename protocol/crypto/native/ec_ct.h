/*
 * Declassification points for the constant-time check (test/firmware/c/ct_*.c).
 *
 * The check runs the signing code under valgrind memcheck with private keys and nonces marked
 * undefined, so any branch or memory index that depends on them is reported. A few values are
 * derived from secrets but are public by design: the validity bit of a rejected random candidate,
 * "r = 0 or s = 0, try again", and the outputs (public keys, signatures). EC_DECLASSIFY marks
 * exactly those as defined; it compiles to nothing unless CP_CT_CHECK is defined.
 */
#ifndef CP_EC_CT_H
#define CP_EC_CT_H

#ifdef CP_CT_CHECK
#include <valgrind/memcheck.h>
#define EC_DECLASSIFY(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))
#else
#define EC_DECLASSIFY(p, n) ((void)(p), (void)(n))
#endif

#endif
