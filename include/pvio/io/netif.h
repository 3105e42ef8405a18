/* SPDX-License-Identifier: MIT */
/*
 * Network device ring protocol (Xen io/netif.h, wire compatible).
 *
 * A vif has a TX ring (guest -> backend packets), an RX ring (backend ->
 * guest packets) and optionally a control ring.  A packet spans one or more
 * slots: the first TX slot carries the whole packet's size, each further
 * slot one fragment, chained with the more_data flag; extra-info slots
 * (GSO, multicast, hash) follow the slot flagged extra_info.  Every field
 * here is written by the peer and must be validated by the reader.
 *
 * All fields have fixed-width types, so the layout is the same for every
 * guest ABI.  These are pvio's own definitions; tests/compat proves that
 * they match the Xen 4.17 public headers.
 */
#ifndef PVIO_IO_NETIF_H
#define PVIO_IO_NETIF_H

#include <stdint.h>

#include "grant_table.h"
#include "ring.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Slots a backend must accept for one packet; a frontend never needs more
 * (a 64 KiB packet spans at most 17 pages, plus one for the header).
 */
#define XEN_NETIF_NR_SLOTS_MIN 18

/* Control ring: hash types a frontend may ask the backend to hash on. */
#define _XEN_NETIF_CTRL_HASH_TYPE_IPV4 0
#define XEN_NETIF_CTRL_HASH_TYPE_IPV4 (1 << _XEN_NETIF_CTRL_HASH_TYPE_IPV4)
#define _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP 1
#define XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP                                      \
	(1 << _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP)
#define _XEN_NETIF_CTRL_HASH_TYPE_IPV6 2
#define XEN_NETIF_CTRL_HASH_TYPE_IPV6 (1 << _XEN_NETIF_CTRL_HASH_TYPE_IPV6)
#define _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP 3
#define XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP                                      \
	(1 << _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP)

/* Control ring: hash algorithms. */
#define XEN_NETIF_CTRL_HASH_ALGORITHM_NONE 0
#define XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ 1

/* Control ring request: a command and up to three arguments. */
struct pvio_netif_ctrl_request {
	uint16_t id;	  /* frontend cookie, echoed back */
	uint16_t type;	  /* XEN_NETIF_CTRL_TYPE_* */
	uint32_t data[3]; /* arguments, meaning depends on type */
};

/* Control commands (ctrl_request.type). */
#define XEN_NETIF_CTRL_TYPE_INVALID 0
#define XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS 1
#define XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS 2
#define XEN_NETIF_CTRL_TYPE_SET_HASH_KEY 3
#define XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE 4
#define XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE 5
#define XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING 6
#define XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM 7
#define XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE 8
#define XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING 9
#define XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING 10

/* Control ring response. */
struct pvio_netif_ctrl_response {
	uint16_t id;	 /* id of the request */
	uint16_t type;	 /* type of the request */
	uint32_t status; /* XEN_NETIF_CTRL_STATUS_* */
	uint32_t data;	 /* result, meaning depends on type */
};

/* Control response status. */
#define XEN_NETIF_CTRL_STATUS_SUCCESS 0
#define XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED 1
#define XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER 2
#define XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW 3

/* Element of the granted array of the *_GREF_MAPPING control commands. */
struct pvio_netif_gref {
	pvio_grant_ref_t ref; /* grant to map or unmap */
	uint16_t flags;	      /* XEN_NETIF_CTRLF_GREF_* */
	uint16_t status;      /* per-element result, written by the backend */
};

#define _XEN_NETIF_CTRLF_GREF_readonly 0
#define XEN_NETIF_CTRLF_GREF_readonly (1U << _XEN_NETIF_CTRLF_GREF_readonly)

PVIO_RING_DEFINE(netif_ctrl, struct pvio_netif_ctrl_request,
		 struct pvio_netif_ctrl_response);

/* TX slot flags (tx_request.flags). */
#define _NETTXF_csum_blank (0)
#define NETTXF_csum_blank (1U << _NETTXF_csum_blank) /* csum not filled */
#define _NETTXF_data_validated (1)
#define NETTXF_data_validated (1U << _NETTXF_data_validated) /* csum ok */
#define _NETTXF_more_data (2)
#define NETTXF_more_data (1U << _NETTXF_more_data) /* another slot follows */
#define _NETTXF_extra_info (3)
#define NETTXF_extra_info (1U << _NETTXF_extra_info) /* extra slot follows */

/* Largest packet a TX chain may describe (tx_request.size is 16 bits). */
#define XEN_NETIF_MAX_TX_SIZE 0xFFFF

/* TX slot: one fragment of a packet the frontend sends. */
struct pvio_netif_tx_request {
	pvio_grant_ref_t gref; /* granted frame holding the fragment */
	uint16_t offset;       /* fragment start inside the frame */
	uint16_t flags;	       /* NETTXF_* */
	uint16_t id;	       /* frontend cookie, echoed in the response */
	uint16_t size;	       /* first slot: packet size; others: fragment */
};

/* Extra-info slot types (extra_info.type). */
#define XEN_NETIF_EXTRA_TYPE_NONE (0) /* invalid */
#define XEN_NETIF_EXTRA_TYPE_GSO (1)
#define XEN_NETIF_EXTRA_TYPE_MCAST_ADD (2)
#define XEN_NETIF_EXTRA_TYPE_MCAST_DEL (3)
#define XEN_NETIF_EXTRA_TYPE_HASH (4)
#define XEN_NETIF_EXTRA_TYPE_MAX (5) /* first invalid type */

/* Extra-info flags: another extra-info slot follows. */
#define _XEN_NETIF_EXTRA_FLAG_MORE (0)
#define XEN_NETIF_EXTRA_FLAG_MORE (1U << _XEN_NETIF_EXTRA_FLAG_MORE)

/* GSO types (extra_info.u.gso.type). */
#define XEN_NETIF_GSO_TYPE_NONE (0)
#define XEN_NETIF_GSO_TYPE_TCPV4 (1)
#define XEN_NETIF_GSO_TYPE_TCPV6 (2)

/* Extra-info slot, in place of a request/response; 8 bytes. */
struct pvio_netif_extra_info {
	uint8_t type;  /* XEN_NETIF_EXTRA_TYPE_* */
	uint8_t flags; /* XEN_NETIF_EXTRA_FLAG_* */
	union {
		struct {
			uint16_t size;	   /* MSS: payload bytes per segment */
			uint8_t type;	   /* XEN_NETIF_GSO_TYPE_* */
			uint8_t pad;	   /* zero */
			uint16_t features; /* zero; no features defined */
		} gso;
		struct {
			uint8_t addr[6]; /* Ethernet multicast address */
		} mcast;
		struct {
			uint8_t type;	   /* one XEN_NETIF_CTRL_HASH_TYPE_* */
			uint8_t algorithm; /* XEN_NETIF_CTRL_HASH_ALGORITHM_* */
			uint8_t value[4];  /* hash value, little endian */
		} hash;
		uint16_t pad[3]; /* sizes the union */
	} u;
};

/* TX response: one per TX request, including extra-info slots. */
struct pvio_netif_tx_response {
	uint16_t id;	/* id of the request */
	int16_t status; /* NETIF_RSP_* */
};

/* RX slot: an empty granted frame for the backend to fill. */
struct pvio_netif_rx_request {
	uint16_t id;	       /* frontend cookie, echoed in the response */
	uint16_t pad;	       /* zero */
	pvio_grant_ref_t gref; /* granted frame */
};

/* RX response flags (rx_response.flags); note bits 0/1 differ from TX. */
#define _NETRXF_data_validated (0)
#define NETRXF_data_validated (1U << _NETRXF_data_validated)
#define _NETRXF_csum_blank (1)
#define NETRXF_csum_blank (1U << _NETRXF_csum_blank)
#define _NETRXF_more_data (2)
#define NETRXF_more_data (1U << _NETRXF_more_data)
#define _NETRXF_extra_info (3)
#define NETRXF_extra_info (1U << _NETRXF_extra_info)
/* Deprecated: a GSO prefix slot precedes the packet. */
#define _NETRXF_gso_prefix (4)
#define NETRXF_gso_prefix (1U << _NETRXF_gso_prefix)

/* RX response, in the slot of its request. */
struct pvio_netif_rx_response {
	uint16_t id;	 /* id of the request */
	uint16_t offset; /* data start inside the frame */
	uint16_t flags;	 /* NETRXF_* */
	int16_t status;	 /* > 0: data length; <= 0: NETIF_RSP_* */
};

PVIO_RING_DEFINE(netif_tx, struct pvio_netif_tx_request,
		 struct pvio_netif_tx_response);
PVIO_RING_DEFINE(netif_rx, struct pvio_netif_rx_request,
		 struct pvio_netif_rx_response);

/* Response status.  NULL: the slot was an extra-info slot. */
#define NETIF_RSP_DROPPED -2
#define NETIF_RSP_ERROR -1
#define NETIF_RSP_OKAY 0
#define NETIF_RSP_NULL 1

/* The same values under Linux's names (Xen 4.17 has only NETIF_RSP_*). */
#define XEN_NETIF_RSP_DROPPED NETIF_RSP_DROPPED
#define XEN_NETIF_RSP_ERROR NETIF_RSP_ERROR
#define XEN_NETIF_RSP_OKAY NETIF_RSP_OKAY
#define XEN_NETIF_RSP_NULL NETIF_RSP_NULL

#ifdef __cplusplus
}
#endif

#endif /* PVIO_IO_NETIF_H */
