/* SPDX-License-Identifier: MIT */
/* Entry types shared by the libchannel tests. */
#ifndef PVIO_TEST_RING_TYPES_H
#define PVIO_TEST_RING_TYPES_H

#include <stdint.h>

#include "pvio/channel.h"

/* 40-byte request, 16-byte response: responses use the per-entry copy path,
 * requests the packed one. */
struct t_req {
	uint64_t id;
	uint64_t seq;
	uint64_t payload[2];
	uint32_t csum;
	uint32_t pad;
};

struct t_rsp {
	uint64_t id;
	uint32_t csum;
	int32_t status;
};

PVIO_RING_DEFINE(t, struct t_req, struct t_rsp);
PVIO_CHANNEL_DEFINE(t, struct t_req, struct t_rsp)

#define T_ENTRY sizeof(union pvio_t_sring_entry)

static inline uint32_t t_csum(const struct t_req *q)
{
	uint64_t h = 1469598103934665603ULL;
	const uint64_t w[3] = {q->seq, q->payload[0], q->payload[1]};

	for (int i = 0; i < 3; i++) {
		h ^= w[i];
		h *= 1099511628211ULL;
	}
	return (uint32_t)(h ^ (h >> 32));
}

/* xorshift64*: deterministic, seeded per test. */
static inline uint64_t t_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

#endif
