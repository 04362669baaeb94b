/* cardpost ARM board: semihosting calls (see semihost.h). */
#include "semihost.h"

#include <string.h>

#define SYS_OPEN 0x01u
#define SYS_CLOSE 0x02u
#define SYS_WRITE 0x05u
#define SYS_READ 0x06u
#define SYS_SEEK 0x0Au
#define SYS_FLEN 0x0Cu
#define SYS_GET_CMDLINE 0x15u
#define SYS_EXIT_EXTENDED 0x20u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

/* r0 = operation, r1 = pointer to the argument block; r0 = result. The "memory" clobber because
 * the host reads and writes the block and the buffers it points to. */
static int32_t semi_call(uint32_t op, void *args) {
  register uint32_t r0 __asm__("r0") = op;
  register void *r1 __asm__("r1") = args;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return (int32_t)r0;
}

int32_t semi_open(const char *path, uint32_t mode) {
  uint32_t args[3] = {(uint32_t)(uintptr_t)path, mode, (uint32_t)strlen(path)};
  return semi_call(SYS_OPEN, args);
}

int32_t semi_close(int32_t fd) {
  uint32_t args[1] = {(uint32_t)fd};
  return semi_call(SYS_CLOSE, args);
}

uint32_t semi_write(int32_t fd, const void *buf, uint32_t len) {
  uint32_t args[3] = {(uint32_t)fd, (uint32_t)(uintptr_t)buf, len};
  return (uint32_t)semi_call(SYS_WRITE, args);
}

uint32_t semi_read(int32_t fd, void *buf, uint32_t len) {
  uint32_t args[3] = {(uint32_t)fd, (uint32_t)(uintptr_t)buf, len};
  return (uint32_t)semi_call(SYS_READ, args);
}

int32_t semi_seek(int32_t fd, uint32_t pos) {
  uint32_t args[2] = {(uint32_t)fd, pos};
  return semi_call(SYS_SEEK, args);
}

int32_t semi_flen(int32_t fd) {
  uint32_t args[1] = {(uint32_t)fd};
  return semi_call(SYS_FLEN, args);
}

int32_t semi_cmdline(char *buf, uint32_t cap) {
  uint32_t args[2] = {(uint32_t)(uintptr_t)buf, cap};
  int32_t r = semi_call(SYS_GET_CMDLINE, args);
  if (r == 0 && args[1] < cap) buf[args[1]] = '\0';
  else if (cap > 0) buf[0] = '\0';
  return r;
}

void semi_exit(uint32_t status) {
  uint32_t args[2] = {ADP_STOPPED_APPLICATION_EXIT, status};
  (void)semi_call(SYS_EXIT_EXTENDED, args);
  for (;;) {
  }
}
