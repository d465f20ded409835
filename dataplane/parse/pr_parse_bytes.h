/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Byte-wise big-endian loads and the bounds test shared by the decoder
 * (pr_decode.c) and the tunnel parsers (pr_tunnel.c). Any alignment.
 */
#ifndef PR_PARSE_BYTES_H
#define PR_PARSE_BYTES_H

#include <stdbool.h>
#include <stdint.h>

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* True when n bytes at off lie before end; written so that nothing can wrap. */
static inline bool have(uint32_t end, uint32_t off, uint32_t n)
{
	return off <= end && n <= end - off;
}

#endif /* PR_PARSE_BYTES_H */
