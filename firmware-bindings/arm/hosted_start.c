/*
 * cardpost ARM hosted test programs: reset for a C test driver with main(argc, argv) and newlib's
 * stdio over semihosting (rdimon). The arguments come from QEMU's -append; main's status ends QEMU
 * with that exit status. Test images only: the card image starts in startup.c.
 */
#include <stdint.h>
#include <stdio.h>

#include "semihost.h"

#define MAX_ARGS 16
#define CMDLINE_CAP 512u

int main(int argc, char **argv);
void initialise_monitor_handles(void);

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;

void Reset_Handler(void) __attribute__((noreturn));
void Fault_Handler(void) __attribute__((noreturn));

void Reset_Handler(void) {
  const uint32_t *src = &_sidata;
  for (uint32_t *dst = &_sdata; dst < &_edata;) *dst++ = *src++;
  for (uint32_t *dst = &_sbss; dst < &_ebss;) *dst++ = 0u;
  initialise_monitor_handles();
  char line[CMDLINE_CAP];
  char *argv[MAX_ARGS + 1];
  int argc = 0;
  if (semi_cmdline(line, sizeof line) != 0) line[0] = '\0';
  /* QEMU puts the kernel file name first: it is argv[0], as a shell would give it. */
  for (char *p = line; *p != '\0' && argc < MAX_ARGS;) {
    while (*p == ' ') *p++ = '\0';
    if (*p == '\0') break;
    argv[argc++] = p;
    while (*p != '\0' && *p != ' ') p++;
  }
  argv[argc] = NULL;
  int status = main(argc, argv);
  fflush(stdout);
  fflush(stderr);
  semi_exit((uint32_t)status);
}

void Fault_Handler(void) { semi_exit(44u); }

typedef void (*vector_fn)(void);

__attribute__((section(".vectors"), used)) const vector_fn cp_arm_hosted_vectors[7] = {
    (vector_fn)(uintptr_t)&_estack, Reset_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler,                  Fault_Handler, Fault_Handler,
};
