/* CRC-32C (Castagnoli), the checksum of every spool record, as in
 * PostgreSQL's WAL and iSCSI. */
#ifndef LOGTHRA_CRC32C_H
#define LOGTHRA_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* crc32c("123456789") == 0xe3069283.  Pass 0 to start; feed the result of
 * one call to the next to checksum data in pieces. */
uint32_t lt_crc32c(uint32_t crc, const void *data, size_t len);

/* The table-driven computation lt_crc32c() falls back to, and whether it
 * uses the CPU's CRC32 instruction instead; for the tests. */
uint32_t lt_crc32c_portable(uint32_t crc, const void *data, size_t len);
int lt_crc32c_hardware(void);

#endif
