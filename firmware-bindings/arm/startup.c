/*
 * cardpost ARM board: Cortex-M4 reset and vector table.
 *
 * Reset copies .data from flash, zeroes .bss, paints the free stack with a pattern (so the deepest
 * stack use can be read back later, board_stack.c) and calls main; main's return value becomes
 * QEMU's exit status. Any fault ends QEMU with ARM_EXIT_FAULT instead of hanging a test.
 */
#include <stdint.h>

#include "board_exit.h"
#include "board_stack.h"
#include "semihost.h"

int main(void);

/* Symbols from cardpost-arm.ld. */
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;

void Reset_Handler(void) __attribute__((noreturn));
void Fault_Handler(void) __attribute__((noreturn));

void Reset_Handler(void) {
  const uint32_t *src = &_sidata;
  for (uint32_t *dst = &_sdata; dst < &_edata;) *dst++ = *src++;
  for (uint32_t *dst = &_sbss; dst < &_ebss;) *dst++ = 0u;
  board_stack_paint();
  semi_exit((uint32_t)main());
}

void Fault_Handler(void) { semi_exit(ARM_EXIT_FAULT); }

typedef void (*vector_fn)(void);

/* Initial SP, reset, then the system exceptions up to UsageFault; no interrupts are used. */
__attribute__((section(".vectors"), used)) const vector_fn cp_arm_vectors[7] = {
    (vector_fn)(uintptr_t)&_estack, Reset_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler,                  Fault_Handler, Fault_Handler,
};
