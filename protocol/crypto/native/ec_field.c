/*
 * The limb-size-independent part of the modular arithmetic (ec_field.h): bytes, masks, addition,
 * subtraction and inversion. Carries go through ec_dlimb (twice the limb width), so the same loops
 * serve both limb paths. Multiplication is in ec_field_mul.c.
 */
#include "ec_field_arith.h"

#define LIMB_BYTES (EC_LIMB_BITS / 8)

void ec_wipe(void *p, size_t n) {
  volatile uint8_t *q = (volatile uint8_t *)p;
  while (n--) *q++ = 0;
}

void ec_from_be(ec_fe *r, const uint8_t b[32]) {
  for (int i = 0; i < EC_LIMBS; i++) {
    ec_limb w = 0;
    for (int j = 0; j < LIMB_BYTES; j++) w = (w << 8) | b[(EC_LIMBS - 1 - i) * LIMB_BYTES + j];
    r->v[i] = w;
  }
}

void ec_to_be(uint8_t b[32], const ec_fe *a) {
  for (int i = 0; i < EC_LIMBS; i++)
    for (int j = 0; j < LIMB_BYTES; j++)
      b[(EC_LIMBS - 1 - i) * LIMB_BYTES + j] = (uint8_t)(a->v[i] >> (EC_LIMB_BITS - 8 - 8 * j));
}

/* all-ones if x == 0, without a comparison the compiler could turn into a branch */
static ec_limb limb_zero_mask(ec_limb x) { return ((x | (0 - x)) >> (EC_LIMB_BITS - 1)) - 1; }

ec_limb ec_is_zero_mask(const ec_fe *a) {
  ec_limb x = 0;
  for (int i = 0; i < EC_LIMBS; i++) x |= a->v[i];
  return limb_zero_mask(x);
}

ec_limb ec_eq_mask(const ec_fe *a, const ec_fe *b) {
  ec_limb x = 0;
  for (int i = 0; i < EC_LIMBS; i++) x |= a->v[i] ^ b->v[i];
  return limb_zero_mask(x);
}

/* d = a - b; returns the borrow (0 or 1) */
static ec_limb sub_borrow(ec_fe *d, const ec_fe *a, const ec_fe *b) {
  ec_limb borrow = 0;
  for (int i = 0; i < EC_LIMBS; i++) {
    ec_dlimb t = (ec_dlimb)a->v[i] - b->v[i] - borrow;
    d->v[i] = (ec_limb)t;
    borrow = (ec_limb)(t >> EC_LIMB_BITS) & 1;
  }
  return borrow;
}

ec_limb ec_lt_mask(const ec_fe *a, const ec_fe *b) {
  ec_fe d;
  return 0 - sub_borrow(&d, a, b);
}

void ec_cmov(ec_fe *r, const ec_fe *a, ec_limb mask) {
  for (int i = 0; i < EC_LIMBS; i++) r->v[i] = (a->v[i] & mask) | (r->v[i] & ~mask);
}

/* r = (top:a) - m if that is >= 0, else a; (top:a) < 2m */
static void sub_if_ge(ec_fe *r, const ec_fe *a, ec_limb top, const ec_mod *M) {
  ec_fe d;
  ec_limb borrow = sub_borrow(&d, a, &M->m);
  /* keep a when the subtraction borrowed past the top limb */
  ec_limb keep = 0 - ((ec_limb)(top - borrow) >> (EC_LIMB_BITS - 1));
  for (int i = 0; i < EC_LIMBS; i++) r->v[i] = (a->v[i] & keep) | (d.v[i] & ~keep);
}

void ec_reduce_once(ec_fe *r, const ec_fe *a, const ec_mod *M) { sub_if_ge(r, a, 0, M); }

void ec_add_one(ec_fe *r, const ec_fe *a) {
  ec_limb carry = 1;
  for (int i = 0; i < EC_LIMBS; i++) {
    ec_dlimb t = (ec_dlimb)a->v[i] + carry;
    r->v[i] = (ec_limb)t;
    carry = (ec_limb)(t >> EC_LIMB_BITS);
  }
}

#ifdef CP_LIMB32 /* the 64-bit path has them unrolled in ec_field_arith.h */
/* d = a + b; returns the carry (0 or 1) */
static ec_limb add_carry(ec_fe *d, const ec_fe *a, const ec_fe *b) {
  ec_limb carry = 0;
  for (int i = 0; i < EC_LIMBS; i++) {
    ec_dlimb t = (ec_dlimb)a->v[i] + b->v[i] + carry;
    d->v[i] = (ec_limb)t;
    carry = (ec_limb)(t >> EC_LIMB_BITS);
  }
  return carry;
}

void ec_add(ec_fe *r, const ec_fe *a, const ec_fe *b, const ec_mod *M) {
  ec_fe s;
  ec_limb carry = add_carry(&s, a, b);
  sub_if_ge(r, &s, carry, M);
}

void ec_sub(ec_fe *r, const ec_fe *a, const ec_fe *b, const ec_mod *M) {
  ec_fe d, back;
  ec_limb mask = 0 - sub_borrow(&d, a, b); /* add m back if a < b */
  for (int i = 0; i < EC_LIMBS; i++) back.v[i] = M->m.v[i] & mask;
  (void)add_carry(r, &d, &back);
}
#endif

void ec_neg(ec_fe *r, const ec_fe *a, const ec_mod *M) {
  static const ec_fe ZERO = {{0}};
  ec_sub(r, &ZERO, a, M);
}

void ec_to_mont(ec_fe *r, const ec_fe *a, const ec_mod *M) { ec_mul(r, a, &M->rr, M); }

void ec_from_mont(ec_fe *r, const ec_fe *a, const ec_mod *M) {
  static const ec_fe ONE = {{1}};
  ec_mul(r, a, &ONE, M);
}

/* r = a^(m-2): 4-bit fixed window over the public exponent; every window multiplies. */
void ec_inv(ec_fe *r, const ec_fe *a, const ec_mod *M) {
  ec_fe tab[16], acc = M->one;
  tab[0] = M->one;
  tab[1] = *a;
  for (int i = 2; i < 16; i++) ec_mul(&tab[i], &tab[i - 1], a, M);
  for (int i = 63; i >= 0; i--) {
    for (int j = 0; j < 4; j++) ec_sqr(&acc, &acc, M);
    unsigned nib = (unsigned)(M->m_minus_2.v[(i * 4) / EC_LIMB_BITS] >> ((i * 4) % EC_LIMB_BITS)) & 15;
    ec_mul(&acc, &acc, &tab[nib], M);
  }
  *r = acc;
  ec_wipe(tab, sizeof tab);
  ec_wipe(&acc, sizeof acc);
}
