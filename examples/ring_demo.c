/* SPDX-License-Identifier: MIT */
/*
 * pvio-ring-demo: a frontend and a backend process sharing one blkif ring.
 *
 * The parent is the frontend (a guest), the child the backend (a driver
 * domain).  They share nothing but a memfd holding the ring page and two
 * eventfd doorbells.  The frontend issues requests through the request-ID
 * table; the backend answers them out of order; both sleep when idle and
 * notify only when the peer asked to be (req_event / rsp_event).  Then the
 * frontend turns hostile and the backend disables the ring.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pvio/channel.h"
#include "pvio/doorbell.h"
#include "pvio/io/blkif.h"
#include "pvio/reqid.h"

PVIO_CHANNEL_DEFINE(blkif, struct pvio_blkif_request,
		    struct pvio_blkif_response)

#define PAGE 4096
#define REQUESTS 200000u
#define SPIN_NS 20000
#define TIMEOUT_MS 10000

struct demo {
	void *page;
	struct pvio_doorbell *to_back, *to_front;
};

static bool back_has_work(void *arg)
{
	return pvio_ring_back_pending(arg) != 0;
}

static bool front_has_work(void *arg)
{
	return pvio_ring_front_pending(arg) != 0;
}

static void die(const char *who, const char *what, int err)
{
	fprintf(stderr, "[%s] %s: %s\n", who, what, strerror(-err));
	exit(1);
}

/* Answer every request: hold up to a ring's worth, reply in reverse. */
static int backend(struct demo *d)
{
	struct pvio_blkif_back b;
	struct pvio_blkif_request held[32];
	struct pvio_blkif_response rsp[32];
	unsigned long answered = 0, notifies = 0;
	int n, err;

	pvio_blkif_back_attach(&b, d->page, PAGE);
	for (;;) {
		n = pvio_blkif_back_consume(&b, held, 32);
		if (n < 0) {
			printf("[back]  sent %lu responses with %lu "
			       "notifications (%.3f per response)\n",
			       answered, notifies,
			       (double)notifies / (double)answered);
			printf("[back]  ring disabled: %s (the frontend moved "
			       "req_prod past the ring)\n",
			       strerror(-n));
			return 0;
		}
		for (int i = 0; i < n; i++) {
			const struct pvio_blkif_request *q = &held[n - 1 - i];

			memset(&rsp[i], 0, sizeof(rsp[i])); /* padding too */
			rsp[i].id = q->id;
			rsp[i].operation = q->operation;
			rsp[i].status =
				q->operation == BLKIF_OP_READ ||
						q->operation == BLKIF_OP_WRITE
					? BLKIF_RSP_OKAY
					: BLKIF_RSP_EOPNOTSUPP;
		}
		if (n > 0) {
			pvio_blkif_back_produce(&b, rsp, (unsigned int)n);
			answered += (unsigned long)n;
			if (pvio_ring_back_push(&b.ring) == 1) {
				pvio_doorbell_ring(d->to_front);
				notifies++;
			}
			continue;
		}
		if (pvio_ring_back_final_check(&b.ring) != 0)
			continue;
		err = pvio_doorbell_wait(d->to_back, SPIN_NS, TIMEOUT_MS,
					 back_has_work, &b.ring);
		if (err == -ETIMEDOUT) {
			printf("[back]  idle for %d s, %lu answered, %lu "
			       "notifications sent\n",
			       TIMEOUT_MS / 1000, answered, notifies);
			return 1;
		}
	}
}

static void frontend(struct demo *d)
{
	struct pvio_blkif_front f;
	struct pvio_reqid_table ids;
	static uint64_t idmem[32 * 24];
	struct pvio_blkif_request q[32];
	struct pvio_blkif_response r[32];
	unsigned long sent = 0, done = 0, notifies = 0, out_of_order = 0;
	uint64_t last_sector = 0;
	int err;

	pvio_blkif_front_init(&f, d->page, PAGE);
	printf("[front] ring of %u slots in one shared page; backend "
	       "attached\n",
	       pvio_ring_size(&f.ring));
	err = pvio_reqid_init(&ids, idmem, sizeof(idmem), 32,
			      sizeof(struct pvio_blkif_request), 64);
	if (err)
		die("front", "reqid", err);
	while (done < REQUESTS) {
		unsigned int n = 0;
		void *shadow;

		while (sent < REQUESTS && pvio_ring_front_free(&f.ring) > n &&
		       pvio_reqid_alloc(&ids, &q[n].id, &shadow) == 0) {
			memset(&q[n], 0,
			       offsetof(struct pvio_blkif_request, id));
			q[n].operation =
				sent % 3 ? BLKIF_OP_READ : BLKIF_OP_WRITE;
			q[n].sector_number = sent * 8;
			memcpy(shadow, &q[n], sizeof(q[n]));
			n++;
			sent++;
		}
		if (n) {
			pvio_blkif_front_produce(&f, q, n);
			if (pvio_ring_front_push(&f.ring) == 1) {
				pvio_doorbell_ring(d->to_back);
				notifies++;
			}
		}
		int got = pvio_blkif_front_consume(&f, r, 32);
		if (got < 0)
			die("front", "consume", got);
		for (int i = 0; i < got; i++) {
			void *s;

			err = pvio_reqid_complete(&ids, r[i].id, &s);
			if (err)
				die("front", "response with a bad id", err);
			const struct pvio_blkif_request *orig = s;
			if (orig->operation != r[i].operation ||
			    r[i].status != BLKIF_RSP_OKAY)
				die("front", "response mismatch", -EPROTO);
			if (orig->sector_number < last_sector)
				out_of_order++;
			last_sector = orig->sector_number;
			done++;
		}
		if (got > 0 || n > 0)
			continue;
		if (pvio_ring_front_final_check(&f.ring) == 0) {
			err = pvio_doorbell_wait(d->to_front, SPIN_NS,
						 TIMEOUT_MS, front_has_work,
						 &f.ring);
			if (err < 0)
				die("front", "wait", err);
		}
	}
	printf("[front] %lu requests answered and matched to their shadows; "
	       "%lu answered before an older one (out of order)\n",
	       done, out_of_order);
	printf("[front] notifications sent: %lu (%.3f per request)\n", notifies,
	       (double)notifies / (double)REQUESTS);

	/* Now misbehave: claim 1000 requests in a 32-slot ring. */
	printf("[front] turning hostile: req_prod += 1000\n");
	struct pvio_sring_header *s = d->page;
	__atomic_store_n(&s->req_prod, s->req_prod + 1000, __ATOMIC_RELEASE);
	pvio_doorbell_ring(d->to_back);
}

int main(void)
{
	struct demo d;
	int fd, err, status;
	pid_t child;

	/* Line-buffered, so both processes' lines interleave in order. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("pvio ring demo: a frontend and a backend process, one blkif "
	       "ring, %u requests\n",
	       REQUESTS);
	fd = memfd_create("pvio-ring", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, PAGE) < 0)
		die("demo", "memfd", -errno);
	d.page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (d.page == MAP_FAILED)
		die("demo", "mmap", -errno);
	d.to_back = pvio_doorbell_create(&err);
	if (!d.to_back)
		die("demo", "doorbell", err);
	d.to_front = pvio_doorbell_create(&err);
	if (!d.to_front)
		die("demo", "doorbell", err);
	/* The frontend initialises the page before the backend exists. */
	struct pvio_blkif_front init;
	pvio_blkif_front_init(&init, d.page, PAGE);

	child = fork();
	if (child < 0)
		die("demo", "fork", -errno);
	if (child == 0) {
		printf("[back]  pid %d attached to the ring (memfd shared, "
		       "nothing else)\n",
		       (int)getpid());
		_exit(backend(&d));
	}
	frontend(&d);
	if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		die("demo", "backend did not detect the hostile frontend",
		    -EPROTO);
	printf("[demo]  done: every request answered, the hostile index "
	       "caught, no crash\n");
	pvio_doorbell_close(d.to_back);
	pvio_doorbell_close(d.to_front);
	munmap(d.page, PAGE);
	close(fd);
	return 0;
}
