/* sm2p256v1 (GB/T 32918.5-2017): constants and generator table, all generated, all in .rodata. */
#include "ec_sm2p256_table.h"

static const ec_curve SM2P256 = {EC_SM2P256_MOD_P, EC_SM2P256_MOD_N, EC_SM2P256_B, EC_SM2P256_G_TABLE};

const ec_curve *ec_sm2p256(void) { return &SM2P256; }
