/*
 * cardpost ARM board: QEMU exit statuses. The host (qemu-card.ts) reads them as the reason the card
 * stopped; keep the numbers in step with QEMU_EXIT there.
 */
#ifndef CP_ARM_BOARD_EXIT_H
#define CP_ARM_BOARD_EXIT_H

#define ARM_EXIT_CLEAN 0u        /* the host closed the link or asked to stop */
#define ARM_EXIT_POWER_CUT 42u   /* the chosen flash write was cut: this exit IS the power loss */
#define ARM_EXIT_BAD_FRAME 43u   /* the host sent a frame the loop cannot read */
#define ARM_EXIT_FAULT 44u       /* a CPU fault (HardFault, bus or usage fault, NMI) */
#define ARM_EXIT_FLASH_FILE 45u  /* the flash file could not be opened or sized */
#define ARM_EXIT_CORE_IGNORED_CUT 46u /* the core touched flash or answered after CP_POWER_LOST: a bug */
#define ARM_EXIT_STACK_OVERFLOW 47u /* the painted guard at the stack limit was overwritten */

#endif
