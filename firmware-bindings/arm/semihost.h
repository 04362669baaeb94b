/*
 * cardpost ARM board: Arm semihosting calls (the debugger/QEMU services behind BKPT 0xAB).
 *
 * QEMU runs with -semihosting-config enable=on,target=native: ":tt" is QEMU's own stdin/stdout (the
 * frame link to Node), other names are host files (the flash model). Only what the board needs.
 */
#ifndef CP_ARM_SEMIHOST_H
#define CP_ARM_SEMIHOST_H

#include <stddef.h>
#include <stdint.h>

/* fopen-style modes of SYS_OPEN. */
#define SEMI_MODE_RB 1u
#define SEMI_MODE_RPLUSB 3u
#define SEMI_MODE_WB 5u
#define SEMI_MODE_WPLUSB 7u

/* Returns a handle, or -1. */
int32_t semi_open(const char *path, uint32_t mode);
int32_t semi_close(int32_t fd);
/* Bytes NOT written (0 = all written). */
uint32_t semi_write(int32_t fd, const void *buf, uint32_t len);
/* Bytes NOT read (len = end of file). */
uint32_t semi_read(int32_t fd, void *buf, uint32_t len);
/* 0 on success. */
int32_t semi_seek(int32_t fd, uint32_t pos);
/* File length, or -1. */
int32_t semi_flen(int32_t fd);
/* The command line (-append); 0 on success. The text is NUL-terminated. */
int32_t semi_cmdline(char *buf, uint32_t cap);
/* Ends QEMU with this exit status (SYS_EXIT_EXTENDED). */
void semi_exit(uint32_t status) __attribute__((noreturn));

#endif
