/* NIST P-256 (FIPS 186-5, secp256r1): constants and generator table, all generated, all in .rodata. */
#include "ec_p256_table.h"

static const ec_curve P256 = {EC_P256_MOD_P, EC_P256_MOD_N, EC_P256_B, EC_P256_G_TABLE};

const ec_curve *ec_p256(void) { return &P256; }
