/* hash.h — keyed 64-bit hashing for in-memory tables and fingerprints.
 *
 * Not cryptographic. The seed should come from getrandom() at the edge, so
 * that keys from outside (task ids, agent names) cannot be chosen to collide
 * in a table: every word goes through a bijective mixer seeded by it. Values
 * depend on the machine's byte order; they are never stored or sent. */
#ifndef OV_HASH_H
#define OV_HASH_H

#include <stddef.h>
#include <stdint.h>

/* The splitmix64 finaliser: a bijection of 64-bit words. */
uint64_t hash_mix64(uint64_t z);
/* Hash of the n bytes at s (s may be NULL when n is 0). */
uint64_t hash_bytes(uint64_t seed, const char *s, size_t n);
/* Fold the word v into the running hash h (order matters). */
uint64_t hash_mix(uint64_t h, uint64_t v);

#endif
