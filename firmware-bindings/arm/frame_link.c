/* cardpost ARM board: the frame link (see frame_link.h). */
#include "frame_link.h"

#include "semihost.h"

int frame_link_open(frame_link *l) {
  l->in = semi_open(":tt", 0u);  /* mode "r": stdin */
  l->out = semi_open(":tt", 4u); /* mode "w": stdout */
  return l->in >= 0 && l->out >= 0 ? 0 : -1;
}

/* Reads exactly len bytes (a pipe can deliver a frame in pieces); 0 on success, -1 at end. */
static int read_exact(const frame_link *l, uint8_t *buf, uint32_t len) {
  while (len > 0u) {
    uint32_t missing = semi_read(l->in, buf, len);
    uint32_t got = len - missing;
    if (got == 0u) return -1;
    buf += got;
    len -= got;
  }
  return 0;
}

int32_t frame_read(const frame_link *l, uint8_t *type, uint8_t *payload, uint32_t cap) {
  uint8_t h[FRAME_HEADER];
  if (read_exact(l, h, FRAME_HEADER) != 0) return -1;
  uint32_t len = ((uint32_t)h[1] << 8) | h[2];
  *type = h[0];
  if (len > cap) return -2;
  if (read_exact(l, payload, len) != 0) return -1;
  return (int32_t)len;
}

void frame_write(const frame_link *l, uint8_t status, const uint8_t *payload, uint32_t len) {
  uint8_t h[FRAME_HEADER] = {status, (uint8_t)(len >> 8), (uint8_t)len};
  (void)semi_write(l->out, h, FRAME_HEADER);
  if (len > 0u) (void)semi_write(l->out, payload, len);
}

void frame_put_u32(uint8_t *out, uint32_t v) {
  out[0] = (uint8_t)(v >> 24);
  out[1] = (uint8_t)(v >> 16);
  out[2] = (uint8_t)(v >> 8);
  out[3] = (uint8_t)v;
}

uint32_t frame_get_u32(const uint8_t *in) {
  return ((uint32_t)in[0] << 24) | ((uint32_t)in[1] << 16) | ((uint32_t)in[2] << 8) | in[3];
}
