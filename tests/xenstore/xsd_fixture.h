/* SPDX-License-Identifier: MIT */
/*
 * In-process fixture for the xenstore daemon tests: the daemon runs in the
 * test's own thread (pvio_xsd_dispatch() from xf_pump()), clients are
 * socketpairs attached as any domain.  Raw protocol helpers let tests send
 * exactly the bytes they want.
 */
#ifndef PVIO_TEST_XSD_FIXTURE_H
#define PVIO_TEST_XSD_FIXTURE_H

#include <errno.h> /* before xs_wire.h: its errno-name helpers */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pvio/io/xs_wire.h>

#include "xsd.h"

struct xf_msg {
	struct pvio_xsd_sockmsg hdr;
	char body[XENSTORE_PAYLOAD_MAX + 1]; /* NUL added after len bytes */
};

/* Client end of a connection, with the watch events it has seen. */
struct xf_client {
	int fd;
	uint32_t domid;
	unsigned int nevents;
	char events[64][256]; /* "path token", most recent 64 */
	uint32_t req;
};

extern struct pvio_xsd *xf_xsd;

void xf_start(void);
void xf_stop(void);
/* Run the daemon until it has nothing to do. */
void xf_pump(void);
/* New client as 'domid' (socketpair handed to pvio_xsd_add_conn). */
struct xf_client *xf_connect(uint32_t domid);
void xf_close(struct xf_client *c);
/* Send raw bytes from the client (non-blocking; returns bytes sent). */
size_t xf_send_raw(struct xf_client *c, const void *p, size_t len);
void xf_send(struct xf_client *c, uint32_t type, uint32_t tx, const void *p,
	     uint32_t len);
/* Read one reply (not a watch event; events are recorded); false on EOF
 * or if nothing came within the pump budget. */
bool xf_recv(struct xf_client *c, struct xf_msg *m);
/* True if the daemon closed the connection (EOF after any pending data). */
bool xf_eof(struct xf_client *c);
/* Request/response; returns the reply type; body in m. */
uint32_t xf_req(struct xf_client *c, uint32_t type, uint32_t tx, const void *p,
		uint32_t len, struct xf_msg *m);
/* Convenience: 0 on success, else errno from the XS_ERROR name. */
int xf_write(struct xf_client *c, uint32_t tx, const char *path,
	     const char *val);
int xf_read(struct xf_client *c, uint32_t tx, const char *path, char *out,
	    size_t cap);
int xf_op1(struct xf_client *c, uint32_t type, uint32_t tx, const char *arg);
int xf_watch(struct xf_client *c, const char *path, const char *token);
int xf_set_perms(struct xf_client *c, const char *path, const char *perms[],
		 unsigned int n);
int xf_tx_start(struct xf_client *c, uint32_t *id);
int xf_tx_end(struct xf_client *c, uint32_t id, bool commit);
/* Collect pending watch events (pumps); returns how many are recorded. */
unsigned int xf_poll_events(struct xf_client *c);
bool xf_has_event(const struct xf_client *c, const char *path,
		  const char *token);
/* The precious data: dom0 wrote it at start; checks it is intact and
 * that the daemon still answers a fresh connection. */
void xf_check_victim(void);

#endif
