/*
 * cardpost ARM board: stack high-water by painting.
 *
 * Reset fills the free stack (from the end of .bss up to just below the live frames) with a pattern;
 * the deepest word that no longer holds the pattern is how far the stack has ever grown. The host
 * repaints before a command and reads the mark after it, which gives the stack use per command.
 */
#ifndef CP_ARM_BOARD_STACK_H
#define CP_ARM_BOARD_STACK_H

#include <stdint.h>

#define BOARD_STACK_PATTERN 0xC0DEC0DEu

/* Paint from the stack limit up to a little below the caller's frame. */
void board_stack_paint(void);
/* Bytes between the top of RAM and the deepest word ever written since the last paint. */
uint32_t board_stack_high_water(void);
/* Bytes from the top of RAM to the stack limit (end of .bss): all the stack there is. */
uint32_t board_stack_size(void);
/* 1 if the lowest painted words were overwritten: the stack ran into .bss. */
int board_stack_overflowed(void);

#endif
