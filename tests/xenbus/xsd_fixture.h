/* SPDX-License-Identifier: MIT */
/*
 * A private pvio-xenstored for one test: a mkdtemp() run dir, the daemon
 * in the foreground as a child, stopped and cleaned up by xsd_stop().
 * The daemon binary comes from $PVIO_XENSTORED (set by CMake).
 */
#ifndef PVIO_TEST_XSD_FIXTURE_H
#define PVIO_TEST_XSD_FIXTURE_H

#include <sys/types.h>

struct xsd_fixture {
	char dir[64];
	char sock[128];
	pid_t pid;
};

/* 0 or -errno; on success f->sock is the dom0 socket, already accepting. */
int xsd_start(struct xsd_fixture *f);
/* SIGTERM (SIGKILL after 2 s), reap, remove the run dir.  Idempotent. */
void xsd_stop(struct xsd_fixture *f);

#endif
