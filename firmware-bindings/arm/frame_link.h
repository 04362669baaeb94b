/*
 * cardpost ARM board: the frame link to the host over semihosting stdin/stdout.
 *
 * Host -> card: type (1 byte), length (2 bytes, big-endian), payload.
 * Card -> host: status (1 byte, FRAME_OK or an error), length (2 bytes, big-endian), payload.
 * One answer per frame, in order. End of input ends the firmware cleanly (the host went away).
 * The frame types and statuses are shared with firmware-bindings/arm/qemu-frames.ts.
 */
#ifndef CP_ARM_FRAME_LINK_H
#define CP_ARM_FRAME_LINK_H

#include <stdint.h>

/* Frame types understood by every image. */
#define FRAME_APDU 0x01u        /* payload: command APDU -> response APDU */
#define FRAME_POWER_ON 0x02u    /* payload: flags (1 extended length, 2 T=0 only), u16 max message size,
                                   u16 journal capacity -> ATR */
#define FRAME_POWER_OFF 0x03u   /* -> empty */
#define FRAME_RESET 0x04u       /* power off and on with the same flags -> ATR */
#define FRAME_ATR 0x05u         /* -> ATR */
#define FRAME_CUT_AFTER 0x06u   /* payload: u32 n (0 disarms), mode (0 after the write, 1 torn) -> empty */
#define FRAME_WRITE_COUNT 0x07u /* -> u32 programs + erases since boot */
#define FRAME_STACK_PAINT 0x08u /* -> empty; repaint the free stack */
#define FRAME_STACK_HIGH 0x09u  /* -> u32 deepest stack use since the paint, u32 stack size (bytes) */
#define FRAME_LAST_TICKS 0x0Au  /* -> u32 timer ticks of the last APDU/power-on (x40 = instructions) */
#define FRAME_INFO 0x0Bu        /* -> u32 list: sizeof card state, page size, page count, write unit */
#define FRAME_EXIT 0x0Cu        /* -> empty, then the firmware ends with ARM_EXIT_CLEAN */
/* 0x20..0x3F: self-test image only (selftest_frames.c). */

#define FRAME_OK 0x00u
#define FRAME_ERR_UNKNOWN 0x01u     /* no such frame type in this image */
#define FRAME_ERR_NOT_POWERED 0x02u /* an APDU with the card off */
#define FRAME_ERR_BAD_PAYLOAD 0x03u /* wrong payload length */
#define FRAME_ERR_RESULT 0x04u      /* a cp_result other than CP_OK: payload is [result] */

#define FRAME_HEADER 3u
#define FRAME_MAX_PAYLOAD 2112u /* an extended APDU of CP_CARD_MAX_MESSAGE plus headers, rounded up */

typedef struct {
  int32_t in;
  int32_t out;
} frame_link;

/* Opens ":tt" both ways; 0 on success. */
int frame_link_open(frame_link *l);
/* Reads one frame; returns its payload length, -1 at end of input, -2 for a frame too long. */
int32_t frame_read(const frame_link *l, uint8_t *type, uint8_t *payload, uint32_t cap);
void frame_write(const frame_link *l, uint8_t status, const uint8_t *payload, uint32_t len);

void frame_put_u32(uint8_t *out, uint32_t v);
uint32_t frame_get_u32(const uint8_t *in);

#endif
