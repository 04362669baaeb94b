/* cardpost ARM board: CMSDK APB timer 0 as a virtual-time counter (see board_clock.h). */
#include "board_clock.h"

/* MPS2 AN385/AN386 memory map: CMSDK timer 0 (ARM DDI 0479C). It counts DOWN from RELOAD. */
#define TIMER0_BASE 0x40000000u
#define TIMER_CTRL (*(volatile uint32_t *)(TIMER0_BASE + 0x0u))
#define TIMER_VALUE (*(volatile uint32_t *)(TIMER0_BASE + 0x4u))
#define TIMER_RELOAD (*(volatile uint32_t *)(TIMER0_BASE + 0x8u))
#define TIMER_CTRL_ENABLE 1u

void board_clock_start(void) {
  TIMER_CTRL = 0u;
  TIMER_RELOAD = 0xFFFFFFFFu;
  TIMER_VALUE = 0xFFFFFFFFu;
  TIMER_CTRL = TIMER_CTRL_ENABLE;
}

uint32_t board_clock_ticks(void) { return 0xFFFFFFFFu - TIMER_VALUE; }
