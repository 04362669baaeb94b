/* cardpost ARM board: stack painting (see board_stack.h). */
#include "board_stack.h"

#include <stddef.h>

extern uint32_t _ebss, _estack;

/* Words left unpainted below the caller's stack pointer: room for this function's own frame. */
#define PAINT_MARGIN_WORDS 16u
/* Words at the limit that must still hold the pattern: else the stack overran into .bss. */
#define GUARD_WORDS 4u

static uint32_t *current_sp(void) {
  uint32_t *sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  return sp;
}

void board_stack_paint(void) {
  uint32_t *top = current_sp() - PAINT_MARGIN_WORDS;
  for (uint32_t *p = &_ebss; p < top; p++) *(volatile uint32_t *)p = BOARD_STACK_PATTERN;
}

uint32_t board_stack_high_water(void) {
  const uint32_t *p = &_ebss;
  while (p < &_estack && *(const volatile uint32_t *)p == BOARD_STACK_PATTERN) p++;
  return (uint32_t)((uintptr_t)&_estack - (uintptr_t)p);
}

uint32_t board_stack_size(void) { return (uint32_t)((uintptr_t)&_estack - (uintptr_t)&_ebss); }

int board_stack_overflowed(void) {
  for (size_t i = 0; i < GUARD_WORDS; i++)
    if ((&_ebss)[i] != BOARD_STACK_PATTERN) return 1;
  return 0;
}
