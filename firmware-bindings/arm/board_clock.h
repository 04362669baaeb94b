/*
 * cardpost ARM board: a virtual-time clock for instruction counts.
 *
 * The DWT cycle counter is not modelled by QEMU, and semihosting SYS_CLOCK/SYS_ELAPSED read the
 * host's wall clock. Under `-icount shift=0` every instruction advances QEMU's virtual clock by
 * exactly 1 ns, and the MPS2 board's CMSDK timer 0 counts that virtual clock at 25 MHz: so
 * 40 x (timer ticks) = instructions executed, to within 40, the same on every run and under any load.
 */
#ifndef CP_ARM_BOARD_CLOCK_H
#define CP_ARM_BOARD_CLOCK_H

#include <stdint.h>

/* Virtual nanoseconds per timer tick (25 MHz) = instructions per tick under -icount shift=0. */
#define BOARD_CLOCK_NS_PER_TICK 40u

void board_clock_start(void);
/* A free-running tick count (wraps after 2^32 ticks, 171 s of virtual time). */
uint32_t board_clock_ticks(void);

#endif
