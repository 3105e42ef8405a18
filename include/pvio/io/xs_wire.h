/* SPDX-License-Identifier: MIT */
/*
 * Xenstore wire protocol (Xen io/xs_wire.h, wire compatible).
 *
 * A xenstore connection, whether a Unix socket or the shared ring page
 * below, carries messages made of a 16-byte header (four little-endian
 * u32) and 'len' payload bytes.  Payload strings are NUL-separated; paths
 * in requests are NUL-terminated.  Replies carry the request's req_id;
 * errors come back as an XS_ERROR message whose payload is an errno name.
 *
 * These are pvio's own definitions; tests/compat proves that they match
 * the Xen 4.17 public headers.
 */
#ifndef PVIO_IO_XS_WIRE_H
#define PVIO_IO_XS_WIRE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Message types (xsd_sockmsg.type).  Daemons answer unknown ones ENOSYS. */
enum pvio_xsd_sockmsg_type {
	XS_CONTROL,		 /* daemon-specific debug/control command */
	XS_DIRECTORY,		 /* list the children of a node */
	XS_READ,		 /* read a node's value */
	XS_GET_PERMS,		 /* read a node's permissions */
	XS_WATCH,		 /* register path\0token\0 */
	XS_UNWATCH,		 /* remove a watch */
	XS_TRANSACTION_START,	 /* reply: decimal transaction id */
	XS_TRANSACTION_END,	 /* "T" commit (may fail EAGAIN) / "F" abort */
	XS_INTRODUCE,		 /* toolstack: announce a new domain */
	XS_RELEASE,		 /* toolstack: forget a domain */
	XS_GET_DOMAIN_PATH,	 /* reply: /local/domain/<domid> */
	XS_WRITE,		 /* path\0value (value not terminated) */
	XS_MKDIR,		 /* create a node with an empty value */
	XS_RM,			 /* remove a node and its children */
	XS_SET_PERMS,		 /* path\0perm\0perm\0... */
	XS_WATCH_EVENT,		 /* daemon -> client: path\0token\0 */
	XS_ERROR,		 /* reply: errno name, e.g. "ENOENT\0" */
	XS_IS_DOMAIN_INTRODUCED, /* reply "T" or "F" */
	XS_RESUME,		 /* toolstack: domain resumed */
	XS_SET_TARGET,		 /* toolstack: device-model target */
	/* 20 was XS_RESTRICT, removed from the protocol. */
	XS_RESET_WATCHES = XS_SET_TARGET + 2, /* drop all of the caller's */
	XS_DIRECTORY_PART,  /* one chunk of a large directory */
	XS_TYPE_COUNT,	    /* number of types, not a type */
	XS_INVALID = 0xffff /* never a valid type */
};

/* Old name of XS_CONTROL. */
#define XS_DEBUG XS_CONTROL

/* Flags of the old XS_WRITE with flags (kept for their names). */
#define XS_WRITE_NONE "NONE"
#define XS_WRITE_CREATE "CREATE"
#define XS_WRITE_CREATE_EXCL "CREATE|EXCL"

/* Header of every message; 'len' payload bytes follow it. */
struct pvio_xsd_sockmsg {
	uint32_t type;	 /* enum pvio_xsd_sockmsg_type */
	uint32_t req_id; /* chosen by the client, echoed in the reply */
	uint32_t tx_id;	 /* transaction id, 0 outside transactions */
	uint32_t len;	 /* payload bytes, at most XENSTORE_PAYLOAD_MAX */
};

/* Index of each string in an XS_WATCH_EVENT payload. */
enum pvio_xs_watch_type {
	XS_WATCH_PATH = 0, /* the node that changed */
	XS_WATCH_TOKEN	   /* the token given to XS_WATCH */
};

/* Shared-page transport: two byte rings, one per direction. */
#define XENSTORE_RING_SIZE 1024
/* Free-running index into a xenstore ring; wraps at 2^32. */
typedef uint32_t pvio_xenstore_ring_idx_t;
/* Byte offset of a free-running index in its ring. */
#define MASK_XENSTORE_IDX(idx) ((idx) & (XENSTORE_RING_SIZE - 1))

/* The xenstore page of a domain (one 4 KiB frame). */
struct pvio_xenstore_domain_interface {
	char req[XENSTORE_RING_SIZE]; /* guest -> daemon bytes */
	char rsp[XENSTORE_RING_SIZE]; /* daemon -> guest bytes, incl. watches */
	pvio_xenstore_ring_idx_t req_cons; /* written by the daemon */
	pvio_xenstore_ring_idx_t req_prod; /* written by the guest */
	pvio_xenstore_ring_idx_t rsp_cons; /* written by the guest */
	pvio_xenstore_ring_idx_t rsp_prod; /* written by the daemon */
	uint32_t server_features;	   /* XENSTORE_SERVER_FEATURE_* */
	uint32_t connection;		   /* XENSTORE_CONNECTED / _RECONNECT */
	uint32_t error;			   /* XENSTORE_ERROR_* */
};

/* Larger payloads are a protocol violation: the daemon drops the link. */
#define XENSTORE_PAYLOAD_MAX 4096

/* Longer paths are refused with an error. */
#define XENSTORE_ABS_PATH_MAX 3072
#define XENSTORE_REL_PATH_MAX 2048

/* server_features bits. */
#define XENSTORE_SERVER_FEATURE_RECONNECTION 1 /* connection field works */
#define XENSTORE_SERVER_FEATURE_ERROR 2	       /* error field works */

/* connection values. */
#define XENSTORE_CONNECTED 0 /* normal operation */
#define XENSTORE_RECONNECT 1 /* guest asked for a ring reset */

/* error values. */
#define XENSTORE_ERROR_NONE 0
#define XENSTORE_ERROR_COMM 1	 /* communication problem */
#define XENSTORE_ERROR_RINGIDX 2 /* ring index out of range */
#define XENSTORE_ERROR_PROTO 3	 /* malformed message, e.g. too long */

/*
 * Errors a daemon may name in an XS_ERROR payload, in Xen's xsd_errors[]
 * order (new ones are only ever appended).  X-macro: PVIO_XSD_ERRORS(X)
 * expands X(EINVAL) X(EACCES) ...; the user provides <errno.h>.
 */
#define PVIO_XSD_ERRORS(X)                                                     \
	X(EINVAL)                                                              \
	X(EACCES)                                                              \
	X(EEXIST)                                                              \
	X(EISDIR)                                                              \
	X(ENOENT)                                                              \
	X(ENOMEM)                                                              \
	X(ENOSPC)                                                              \
	X(EIO)                                                                 \
	X(ENOTEMPTY)                                                           \
	X(ENOSYS)                                                              \
	X(EROFS)                                                               \
	X(EBUSY)                                                               \
	X(EAGAIN)                                                              \
	X(EISCONN)                                                             \
	X(E2BIG)                                                               \
	X(EPERM)

/* Number of entries of PVIO_XSD_ERRORS. */
#define PVIO_XSD_NR_ERRORS 16

/* Lookup helpers, available when <errno.h> was included first (as Xen). */
#ifdef EINVAL
#define PVIO__XSD_ERROR_ENTRY(e) {e, #e},

struct pvio_xsd_error {
	int errnum;
	const char *name;
};

/*
 * Entry i (0 <= i < PVIO_XSD_NR_ERRORS) of the table, or NULL.  The
 * returned pointer is to static storage.
 */
static inline const struct pvio_xsd_error *pvio_xsd_error_at(unsigned int i)
{
	static const struct pvio_xsd_error table[PVIO_XSD_NR_ERRORS] = {
		PVIO_XSD_ERRORS(PVIO__XSD_ERROR_ENTRY)};

	return i < PVIO_XSD_NR_ERRORS ? &table[i] : 0;
}

/* Name to send for errnum, or NULL if the protocol has no name for it. */
static inline const char *pvio_xsd_error_name(int errnum)
{
	unsigned int i;

	for (i = 0; i < PVIO_XSD_NR_ERRORS; i++) {
		if (pvio_xsd_error_at(i)->errnum == errnum)
			return pvio_xsd_error_at(i)->name;
	}
	return 0;
}

/*
 * errno for a received name of exactly len bytes (no NUL needed), or 0
 * if the name is not in the table.
 */
static inline int pvio_xsd_error_errno(const char *name, unsigned int len)
{
	unsigned int i, j;

	for (i = 0; i < PVIO_XSD_NR_ERRORS; i++) {
		const char *n = pvio_xsd_error_at(i)->name;

		for (j = 0; j < len && n[j] != '\0' && n[j] == name[j]; j++)
			;
		if (j == len && n[j] == '\0')
			return pvio_xsd_error_at(i)->errnum;
	}
	return 0;
}
#endif /* EINVAL */

#ifdef __cplusplus
}
#endif

#endif /* PVIO_IO_XS_WIRE_H */
