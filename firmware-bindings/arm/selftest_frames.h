/*
 * cardpost ARM self-test image: frames that reach the crypto ops table and the NVM store directly,
 * so the host can check the 32-bit-limb crypto against published vectors and the TypeScript
 * reference, and the store against a model across power cuts, on the Cortex-M4 build itself.
 *
 * Crypto: DIGEST [alg][msg] -> 32 bytes; KEYGEN [alg] -> priv 32 || pub 65 (from the DRBG);
 * SIGN [alg][priv 32][pub 65][msg] -> sig 64; VERIFY [alg][pub 65][sig 64][msg] -> [cp_result];
 * PUBLIC [alg][priv 32] -> pub 65; SIGN_K [alg][priv 32][k 32][pub 65][msg] -> sig 64 with the nonce
 * given (published vectors fix k: GB/T 32918 Annex A, RFC 6979 A.2.5).
 * Store (keys u16 big-endian): MOUNT; BEGIN; PUT [key][value]; REMOVE [key]; COMMIT; ABORT;
 * GET [key] -> value. Raw flash through the board's HAL (u32 big-endian addresses): FLASH_READ [addr][u16 len]
 * -> bytes; FLASH_PROGRAM [addr][bytes]; FLASH_ERASE [u32 page]. A cp_result other than CP_OK comes
 * back as FRAME_ERR_RESULT [result].
 */
#ifndef CP_ARM_SELFTEST_FRAMES_H
#define CP_ARM_SELFTEST_FRAMES_H

#define FRAME_ST_DIGEST 0x20u
#define FRAME_ST_KEYGEN 0x21u
#define FRAME_ST_SIGN 0x22u
#define FRAME_ST_VERIFY 0x23u
#define FRAME_ST_PUBLIC 0x24u
#define FRAME_ST_SIGN_K 0x25u

#define FRAME_ST_MOUNT 0x30u
#define FRAME_ST_BEGIN 0x31u
#define FRAME_ST_PUT 0x32u
#define FRAME_ST_REMOVE 0x33u
#define FRAME_ST_COMMIT 0x34u
#define FRAME_ST_GET 0x35u
#define FRAME_ST_ABORT 0x36u

#define FRAME_ST_FLASH_READ 0x40u
#define FRAME_ST_FLASH_PROGRAM 0x41u
#define FRAME_ST_FLASH_ERASE 0x42u

#endif
