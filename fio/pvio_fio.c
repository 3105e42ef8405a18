/* SPDX-License-Identifier: MIT */
/*
 * libpvio_fio.so: a fio external ioengine that runs any fio workload
 * against a pvio disk (blkfront, include/pvio/blkfront.h).
 *
 *   fio --ioengine=external:/path/libpvio_fio.so --vdev=xvda ...
 *
 * fio runs as a guest: the process holds a domain credential in its
 * environment (PVIO_DOMAIN_CRED, PVIO_RUN_DIR), as `pvio create` with
 * cmd = "fio job.fio" gives it.
 *
 * Attachment: one per process and vbd, shared by reference count.  Jobs
 * that are threads (thread=1) of one fio process share it; job i drives
 * queue i % nr_queues and each queue has a mutex, so jobs may outnumber
 * queues.  Jobs that are forked processes (fio's default) each attach in
 * their own process; a vbd has one frontend, so a second process that
 * tries while the first is attached gets a clear error (a shared page
 * set up before fio forks records who holds each vbd).
 *
 * Size: fio needs the disk size in the parent before it forks, where
 * nothing may be attached, so setup() reads the backend's "sectors" key
 * from xenstore instead of attaching.
 *
 * Buffers: iomem_alloc() takes fio's I/O buffers from
 * pvio_blkfront_buf_alloc(), so data is granted in place (zero copy).
 *
 * Requests larger than one ring request allows (no indirect segments:
 * 11 pages) are split into several ring requests; the io_u completes
 * when all its parts have.
 *
 * At the last detach of a process one line of counters goes to stderr:
 * "pvio-fio stats: ..." (see print_stats()); bench/blk reads it.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "pvio/blkfront.h"
#include "pvio/domain.h"
#include "pvio/xs.h"

/* fio's own headers (scripts/fio-src.sh), built with its config-host.h. */
#include "fio.h"
#include "optgroup.h"

#define PVFIO_SECTOR 512U
#define PVFIO_PAGE 4096U
#define PVFIO_MAX_CLAIMS 64U
#define PVFIO_PROBE_MS 10000

#ifdef PVIO_FIO_MOCK
/* tests/fio's in-memory blkfront stands in for the domain (no pvio-hv). */
int pvio_fio_mock_sectors(const char *vdev, uint64_t *sectors);
#endif

/* ---------------------------------------------------------------------- */
/* Options                                                                */
/* ---------------------------------------------------------------------- */

struct pvfio_options {
	void *pad; /* fio: an option at offset 0 reads as "no offset" */
	char *vdev;
	unsigned int backend_dom;
	unsigned int queues;
	unsigned int persistent;
	unsigned int indirect;
	unsigned int ring_order;
};

static struct fio_option options[] = {
	{
		.name = "vdev",
		.lname = "pvio virtual device",
		.type = FIO_OPT_STR_STORE,
		.off1 = offsetof(struct pvfio_options, vdev),
		.help = "The guest's vbd to use: xvda, hdb, 51712, ...",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "backend_dom",
		.lname = "pvio backend domain",
		.type = FIO_OPT_INT,
		.off1 = offsetof(struct pvfio_options, backend_dom),
		.help = "Backend domid expected (default: the one in xenstore)",
		.def = "65535",
		.minval = 0,
		.maxval = 65535,
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "queues",
		.lname = "pvio queues",
		.type = FIO_OPT_INT,
		.off1 = offsetof(struct pvfio_options, queues),
		.help = "Queues (rings) to ask for; job i uses queue i % N",
		.def = "1",
		.minval = 1,
		.maxval = 64,
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "persistent",
		.lname = "pvio persistent grants",
		.type = FIO_OPT_BOOL,
		.off1 = offsetof(struct pvfio_options, persistent),
		.help = "Offer feature-persistent",
		.def = "1",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "indirect",
		.lname = "pvio indirect descriptors",
		.type = FIO_OPT_BOOL,
		.off1 = offsetof(struct pvfio_options, indirect),
		.help = "Use indirect segments when the backend offers them",
		.def = "1",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "ring_order",
		.lname = "pvio ring page order",
		.type = FIO_OPT_INT,
		.off1 = offsetof(struct pvfio_options, ring_order),
		.help = "log2 of ring pages per queue (0: as many as offered)",
		.def = "0",
		.minval = 0,
		.maxval = 8,
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = NULL,
	},
};

/* ---------------------------------------------------------------------- */
/* Per-process state: the domain handle and the attached vbds             */
/* ---------------------------------------------------------------------- */

struct pvfio_queue {
	pthread_mutex_t lock;	    /* submit and reap of this queue */
	_Atomic unsigned int users; /* jobs using it: relaxed, a hint */
};

struct pvfio_dev {
	struct pvfio_dev *next;
	uint32_t devid;
	unsigned int backend;
	struct pvio_blkfront_opts opts;
	unsigned int refs; /* jobs attached (under g_lock) */
	struct pvio_blkfront *f;
	const struct pvio_blkfront_info *info;
	struct pvfio_queue *q; /* info->nr_queues */
	/* Counters from the first I/O on, for the stats line. */
	atomic_bool base_taken;
	struct pvio_dom_stats dom0;
	struct pvio_blkfront_stats fr0;
	atomic_uint_fast64_t ios;
	char name[32];
};

/*
 * Who holds which vbd, shared between fio's main process and the jobs
 * it forks (mapped MAP_SHARED before the fork, in setup()).  pid 0: free.
 */
struct pvfio_claim {
	_Atomic int pid;
	_Atomic unsigned int devid;
};

/* g_lock serialises every pvio_dom_* and attach/detach/buf call of the
 * process: the domain handle is not thread-safe. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static __attribute__((unused)) struct pvio_dom *g_dom; /* of g_dom_pid */
static pid_t g_dom_pid;
static pid_t g_main_pid; /* fio's main process: where setup() runs */
static struct pvfio_dev *g_devs;
static struct pvfio_claim *g_claims; /* PVFIO_MAX_CLAIMS, shared */

/* The process's domain handle; a forked child opens its own (the one it
 * inherited belongs to the parent's connection).  Under g_lock. */
static int dom_get(struct pvio_dom **out)
{
#ifdef PVIO_FIO_MOCK
	g_dom_pid = getpid();
	*out = NULL;
	return 0;
#else
	int err = 0;

	if (g_dom && g_dom_pid == getpid()) {
		*out = g_dom;
		return 0;
	}
	g_dom = NULL; /* the parent's: leave its socket alone */
	g_dom = pvio_dom_open(NULL, NULL, &err);
	if (!g_dom)
		return err;
	g_dom_pid = getpid();
	*out = g_dom;
	return 0;
#endif
}

static void claims_init(void)
{
	void *p;

	if (g_claims)
		return;
	p = mmap(NULL, PVFIO_MAX_CLAIMS * sizeof(*g_claims),
		 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED)
		g_claims = p;
}

/*
 * Claim vbd 'devid' for this process.  0, or -EBUSY with *holder set
 * when another live process has it.
 */
static int claim(uint32_t devid, int *holder)
{
	int me = getpid();

	if (!g_claims)
		return 0; /* no shared page: nothing to coordinate with */
	for (unsigned int i = 0; i < PVFIO_MAX_CLAIMS; i++) {
		struct pvfio_claim *c = &g_claims[i];
		int pid = atomic_load(&c->pid);

		if (pid != 0 && atomic_load(&c->devid) == devid) {
			if (pid == me)
				return 0;
			if (kill(pid, 0) == 0 || errno != ESRCH) {
				*holder = pid;
				return -EBUSY;
			}
			/* The holder died without releasing: take it over. */
			if (atomic_compare_exchange_strong(&c->pid, &pid, me))
				return 0;
			*holder = atomic_load(&c->pid);
			return -EBUSY;
		}
	}
	for (unsigned int i = 0; i < PVFIO_MAX_CLAIMS; i++) {
		struct pvfio_claim *c = &g_claims[i];
		int zero = 0;

		/* devid is written before the pid that publishes the slot;
		 * seq_cst on both, paired with the loads above. */
		if (atomic_load(&c->pid) == 0) {
			atomic_store(&c->devid, devid);
			if (atomic_compare_exchange_strong(&c->pid, &zero, me))
				return 0;
		}
	}
	return 0; /* table full: do without the check */
}

static void unclaim(uint32_t devid)
{
	int me = getpid();

	if (!g_claims)
		return;
	for (unsigned int i = 0; i < PVFIO_MAX_CLAIMS; i++) {
		int pid = me;

		if (atomic_load(&g_claims[i].devid) == devid)
			atomic_compare_exchange_strong(&g_claims[i].pid, &pid,
						       0);
	}
}

static void print_stats(struct pvfio_dev *d)
{
	struct pvio_blkfront_stats fr;
	struct pvio_dom_stats ds = {0};
	uint64_t ios = atomic_load(&d->ios);
	double div;

	pvio_blkfront_get_stats(d->f, &fr);
#ifndef PVIO_FIO_MOCK
	if (g_dom)
		pvio_dom_get_stats(g_dom, &ds);
#endif
	if (!atomic_load(&d->base_taken)) {
		d->dom0 = ds;
		d->fr0 = fr;
	}
	div = ios ? (double)ios : 1.0;
	fprintf(stderr,
		"pvio-fio stats: vdev=%s queues=%u ring_pages=%u "
		"max_segments=%u persistent=%d ios=%" PRIu64
		" requests=%" PRIu64 " notifies=%" PRIu64 " hypercalls=%" PRIu64
		" grant_maps=%" PRIu64 " grant_unmaps=%" PRIu64
		" grants=%" PRIu64 " bounced_bytes=%" PRIu64
		" notifies_per_io=%.3f hypercalls_per_io=%.4f"
		" grant_maps_per_io=%.4f grant_unmaps_per_io=%.4f\n",
		d->name, d->info->nr_queues, d->info->ring_pages,
		d->info->max_segments, d->info->persistent ? 1 : 0, ios,
		fr.requests - d->fr0.requests, fr.notifies - d->fr0.notifies,
		ds.hypercalls - d->dom0.hypercalls,
		ds.grant_maps - d->dom0.grant_maps,
		ds.grant_unmaps - d->dom0.grant_unmaps,
		fr.grants - d->fr0.grants, fr.bounced - d->fr0.bounced,
		(double)(fr.notifies - d->fr0.notifies) / div,
		(double)(ds.hypercalls - d->dom0.hypercalls) / div,
		(double)(ds.grant_maps - d->dom0.grant_maps) / div,
		(double)(ds.grant_unmaps - d->dom0.grant_unmaps) / div);
}

/* Under g_lock. */
static void dev_free(struct pvfio_dev *d)
{
	struct pvfio_dev **pp;

	for (pp = &g_devs; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	print_stats(d);
	pvio_blkfront_detach(d->f, 10000);
	unclaim(d->devid);
	for (unsigned int i = 0; d->q && i < d->info->nr_queues; i++)
		pthread_mutex_destroy(&d->q[i].lock);
	free(d->q);
	free(d);
}

/* fio's main process keeps its attachments until exit (jobs run one
 * after another with stonewall would otherwise re-attach each time). */
__attribute__((destructor)) static void pvfio_fini(void)
{
	pthread_mutex_lock(&g_lock);
	while (g_devs) {
		if (g_dom_pid != getpid()) {
			g_devs = NULL; /* inherited from a parent: not ours */
			break;
		}
		dev_free(g_devs);
	}
#ifndef PVIO_FIO_MOCK
	if (g_dom && g_dom_pid == getpid()) {
		pvio_dom_close(g_dom);
		g_dom = NULL;
	}
#endif
	pthread_mutex_unlock(&g_lock);
}

static bool opts_equal(const struct pvio_blkfront_opts *a,
		       const struct pvio_blkfront_opts *b)
{
	return a->max_queues == b->max_queues &&
	       a->ring_order == b->ring_order &&
	       a->no_persistent == b->no_persistent &&
	       a->no_indirect == b->no_indirect;
}

static void opts_from(const struct pvfio_options *o,
		      struct pvio_blkfront_opts *bo)
{
	memset(bo, 0, sizeof(*bo));
	bo->max_queues = o->queues ? o->queues : 1;
	bo->ring_order = o->ring_order;
	bo->no_persistent = !o->persistent;
	bo->no_indirect = !o->indirect;
	bo->timeout_ms = 10000;
}

/* Take a reference on the attachment of o->vdev, attaching if needed. */
static int dev_get(const struct pvfio_options *o, uint32_t devid,
		   struct pvfio_dev **out)
{
	struct pvio_blkfront_opts bo;
	struct pvio_dom *dom;
	struct pvfio_dev *d;
	int err, holder = 0;

	opts_from(o, &bo);
	pthread_mutex_lock(&g_lock);
	if (g_dom_pid != 0 && g_dom_pid != getpid())
		g_devs = NULL; /* a forked job: the parent's list is not ours */
	for (d = g_devs; d; d = d->next) {
		if (d->devid != devid)
			continue;
		if (!opts_equal(&d->opts, &bo) ||
		    d->backend != o->backend_dom) {
			log_err("pvio: %s is already attached in this process "
				"with other queues/persistent/indirect/"
				"ring_order/backend_dom options; jobs sharing "
				"a vbd must use the same ones\n",
				o->vdev);
			err = -EINVAL;
			goto out;
		}
		d->refs++;
		*out = d;
		err = 0;
		goto out;
	}
	err = claim(devid, &holder);
	if (err) {
		log_err("pvio: %s is attached by another fio process (pid %d); "
			"a vbd has one frontend, so jobs that share it must be "
			"threads of one fio process (thread=1)\n",
			o->vdev, holder);
		goto out;
	}
	err = dom_get(&dom);
	if (err) {
		log_err("pvio: cannot open the domain (env %s, %s): %s\n",
			PVIO_DOM_CRED_ENV, PVIO_DOM_RUNDIR_ENV, strerror(-err));
		unclaim(devid);
		goto out;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		err = -ENOMEM;
		unclaim(devid);
		goto out;
	}
	d->devid = devid;
	d->backend = o->backend_dom;
	d->opts = bo;
	snprintf(d->name, sizeof(d->name), "%s", o->vdev);
	d->f = pvio_blkfront_attach(dom, (pvio_domid_t)o->backend_dom, o->vdev,
				    &bo, &err);
	if (!d->f) {
		log_err("pvio: attaching %s failed: %s\n", o->vdev,
			strerror(-err));
		free(d);
		unclaim(devid);
		goto out;
	}
	d->info = pvio_blkfront_info(d->f);
	d->q = calloc(d->info->nr_queues ? d->info->nr_queues : 1,
		      sizeof(*d->q));
	if (!d->q || d->info->nr_queues == 0) {
		err = d->q ? -EPROTO : -ENOMEM;
		free(d->q);
		pvio_blkfront_detach(d->f, 1000);
		free(d);
		unclaim(devid);
		goto out;
	}
	for (unsigned int i = 0; i < d->info->nr_queues; i++)
		pthread_mutex_init(&d->q[i].lock, NULL);
	d->refs = 1;
	d->next = g_devs;
	g_devs = d;
	*out = d;
out:
	pthread_mutex_unlock(&g_lock);
	return err;
}

static void dev_put(struct pvfio_dev *d)
{
	pthread_mutex_lock(&g_lock);
	if (--d->refs == 0 && getpid() != g_main_pid)
		dev_free(d); /* a forked job ends with its process */
	pthread_mutex_unlock(&g_lock);
}

/* Disk size from xenstore: the backend's "sectors" (512-byte units). */
static int probe_size(const char *vdev, uint32_t devid, uint64_t *bytes)
{
#ifdef PVIO_FIO_MOCK
	uint64_t sectors;
	int err;

	(void)devid;
	err = pvio_fio_mock_sectors(vdev, &sectors);
	*bytes = sectors * PVFIO_SECTOR;
	return err;
#else
	struct pvio_dom *dom;
	struct pvio_xs *xs = NULL;
	char path[160], *be = NULL, *val = NULL;
	int err;

	for (struct pvfio_dev *d = g_devs; d; d = d->next) {
		if (d->devid == devid && g_dom_pid == getpid()) {
			*bytes = d->info->sectors * PVFIO_SECTOR;
			return 0;
		}
	}
	err = dom_get(&dom);
	if (err) {
		log_err("pvio: cannot open the domain (env %s, %s): %s\n",
			PVIO_DOM_CRED_ENV, PVIO_DOM_RUNDIR_ENV, strerror(-err));
		return err;
	}
	xs = pvio_dom_xs_open(dom, &err);
	if (!xs)
		return err;
	snprintf(path, sizeof(path), "/local/domain/%u/device/vbd/%u/backend",
		 (unsigned int)pvio_dom_id(dom), (unsigned int)devid);
	err = pvio_xs_read(xs, PVIO_XS_TX_NONE, path, &be, NULL);
	if (err) {
		log_err("pvio: no vbd %s (%u) in this domain (%s: %s)\n", vdev,
			(unsigned int)devid, path, strerror(-err));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/sectors", be);
	/* The backend publishes it when it starts serving: wait a little. */
	for (int waited = 0;; waited += 10) {
		char *end;
		unsigned long long s;

		err = pvio_xs_read(xs, PVIO_XS_TX_NONE, path, &val, NULL);
		if (err == 0) {
			errno = 0;
			s = strtoull(val, &end, 10);
			if (errno || end == val || *end ||
			    s > UINT64_MAX / 512) {
				log_err("pvio: %s: bad value '%s'\n", path,
					val);
				err = -EPROTO;
			} else {
				*bytes = (uint64_t)s * PVFIO_SECTOR;
			}
			break;
		}
		if (err != -ENOENT || waited >= PVFIO_PROBE_MS) {
			log_err("pvio: %s: %s (is the backend running?)\n",
				path, strerror(-err));
			break;
		}
		usleep(10000);
	}
out:
	free(val);
	free(be);
	pvio_xs_close(xs);
	return err;
#endif
}

/* ---------------------------------------------------------------------- */
/* Per-job state                                                          */
/* ---------------------------------------------------------------------- */

struct pvfio_td;

/* io_u->engine_data: the ring requests one io_u became. */
struct pvfio_iou {
	struct io_u *io_u;
	struct pvfio_td *owner;
	unsigned int nparts, left;
	int err;
	struct pvio_blkfront_req *reqs; /* max_parts */
	struct iovec *iov;		/* max_parts */
};

struct pvfio_td {
	struct pvfio_dev *dev;
	unsigned int queue;
	struct pvfio_queue *q;
	unsigned int depth;	/* ring slots of the queue */
	unsigned int max_parts; /* ring requests per io_u, at most */
	uint64_t max_bytes;	/* per ring request */
	/* Requests queued by queue() and not yet on the ring. */
	struct pvio_blkfront_req **pending;
	unsigned int npending, cap_pending;
	unsigned int inflight; /* this job's requests on the ring */
	/* io_us completed, not yet handed to fio; other jobs on the same
	 * queue append here while reaping, so under q->lock. */
	struct io_u **mine;
	unsigned int nmine, cap_mine;
	/* What getevents() collected, handed out by event(). */
	struct io_u **events;
	unsigned int nevents;
	struct pvio_blkfront_req **done; /* reap buffer, depth */
	void *iomem;
	size_t iomem_size;
	bool iomem_pool; /* from pvio_blkfront_buf_alloc */
};

static int pvfio_setup(struct thread_data *td)
{
	struct pvfio_options *o = td->eo;
	uint64_t size = 0;
	uint32_t devid;
	int err;

	if (!o->vdev || !*o->vdev) {
		log_err("pvio: the vdev= option is required (e.g. "
			"vdev=xvda)\n");
		return 1;
	}
	if (pvio_blkfront_vdev_parse(o->vdev, &devid) != 0) {
		log_err("pvio: vdev=%s is not a vbd name or number\n", o->vdev);
		return 1;
	}
	/* setup() runs in fio's main process, before jobs fork. */
	pthread_mutex_lock(&g_lock);
	if (g_main_pid == 0)
		g_main_pid = getpid();
	claims_init();
	err = probe_size(o->vdev, devid, &size);
	pthread_mutex_unlock(&g_lock);
	if (err)
		return 1;
	if (!td->files_index) {
		add_file(td, o->vdev, 0, 0);
		td->o.nr_files = td->o.nr_files ?: 1;
		td->o.open_files++;
	}
	for (unsigned int i = 0; i < td->files_index; i++) {
		td->files[i]->real_file_size = size;
		fio_file_set_size_known(td->files[i]);
	}
	return 0;
}

static int pvfio_init(struct thread_data *td)
{
	struct pvfio_options *o = td->eo;
	const struct pvio_blkfront_info *in;
	struct pvfio_td *j;
	uint64_t chunk;
	uint32_t devid;
	int err;

	if (!o->vdev || pvio_blkfront_vdev_parse(o->vdev, &devid) != 0) {
		log_err("pvio: the vdev= option is required (e.g. "
			"vdev=xvda)\n");
		return 1;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		td_verror(td, ENOMEM, "calloc");
		return 1;
	}
	err = dev_get(o, devid, &j->dev);
	if (err) {
		free(j);
		td_verror(td, -err, "pvio attach");
		return 1;
	}
	td->io_ops_data = j; /* from here cleanup() releases it */
	in = j->dev->info;
	j->queue =
		(td->thread_number ? td->thread_number - 1 : 0) % in->nr_queues;
	j->q = &j->dev->q[j->queue];
	atomic_fetch_add_explicit(&j->q->users, 1, memory_order_relaxed);
	j->depth = in->queue_depth ? in->queue_depth : 1;

	/* Largest ring request; a buffer that does not start on a page
	 * boundary spans one page more than its length suggests. */
	j->max_bytes = in->max_sectors * PVFIO_SECTOR;
	if (in->max_segments &&
	    j->max_bytes > (uint64_t)in->max_segments * PVFIO_PAGE)
		j->max_bytes = (uint64_t)in->max_segments * PVFIO_PAGE;
	chunk = j->max_bytes;
	if (in->max_segments > 1 &&
	    chunk > (uint64_t)(in->max_segments - 1) * PVFIO_PAGE)
		chunk = (uint64_t)(in->max_segments - 1) * PVFIO_PAGE;
	if (chunk < PVFIO_SECTOR) {
		log_err("pvio: %s allows no usable request size\n", o->vdev);
		td_verror(td, EPROTO, "pvio attach");
		return 1; /* cleanup() releases j */
	}
	j->max_parts = (unsigned int)((td_max_bs(td) + chunk - 1) / chunk);
	if (j->max_parts == 0)
		j->max_parts = 1;
	if (j->max_parts > j->depth) {
		log_err("pvio: bs=%llu needs %u ring requests, more than the "
			"%u slots of a queue\n",
			td_max_bs(td), j->max_parts, j->depth);
		td_verror(td, EINVAL, "pvio bs");
		return 1;
	}
	j->cap_mine = td->o.iodepth + 1;
	j->cap_pending = j->depth + j->max_parts;
	j->pending = calloc(j->cap_pending, sizeof(*j->pending));
	j->mine = calloc(j->cap_mine, sizeof(*j->mine));
	j->events = calloc(j->cap_mine, sizeof(*j->events));
	j->done = calloc(j->depth, sizeof(*j->done));
	if (!j->pending || !j->mine || !j->events || !j->done) {
		td_verror(td, ENOMEM, "calloc");
		return 1;
	}
	return 0;
}

static void pvfio_cleanup(struct thread_data *td)
{
	struct pvfio_td *j = td->io_ops_data;

	if (!j)
		return;
	if (j->dev) {
		atomic_fetch_sub_explicit(&j->q->users, 1,
					  memory_order_relaxed);
		dev_put(j->dev);
	}
	free(j->pending);
	free(j->mine);
	free(j->events);
	free(j->done);
	free(j);
	td->io_ops_data = NULL;
}

static int pvfio_iomem_alloc(struct thread_data *td, size_t size)
{
	struct pvfio_td *j = td->io_ops_data;
	int err = 0;

	size = (size + PVFIO_PAGE - 1) & ~(size_t)(PVFIO_PAGE - 1);
	pthread_mutex_lock(&g_lock);
	j->iomem = pvio_blkfront_buf_alloc(j->dev->f, size, &err);
	pthread_mutex_unlock(&g_lock);
	j->iomem_pool = j->iomem != NULL;
	if (!j->iomem) {
		/* Works, through blkfront's bounce pool: slower. */
		log_info("pvio: %zu bytes of grantable memory not available "
			 "(%s); using ordinary memory, data will be copied\n",
			 size, strerror(-err));
		if (posix_memalign(&j->iomem, PVFIO_PAGE, size) != 0) {
			j->iomem = NULL;
			return 1;
		}
	}
	j->iomem_size = size;
	td->orig_buffer = j->iomem;
	return 0;
}

static void pvfio_iomem_free(struct thread_data *td)
{
	struct pvfio_td *j = td->io_ops_data;

	if (!j || !j->iomem)
		return;
	if (j->iomem_pool) {
		pthread_mutex_lock(&g_lock);
		pvio_blkfront_buf_free(j->dev->f, j->iomem, j->iomem_size);
		pthread_mutex_unlock(&g_lock);
	} else {
		free(j->iomem);
	}
	j->iomem = NULL;
	td->orig_buffer = NULL;
}

static int pvfio_io_u_init(struct thread_data *td, struct io_u *io_u)
{
	struct pvfio_td *j = td->io_ops_data;
	struct pvfio_iou *u;

	u = calloc(1, sizeof(*u));
	if (!u)
		return 1;
	u->reqs = calloc(j->max_parts, sizeof(*u->reqs));
	u->iov = calloc(j->max_parts, sizeof(*u->iov));
	if (!u->reqs || !u->iov) {
		free(u->reqs);
		free(u->iov);
		free(u);
		return 1;
	}
	u->io_u = io_u;
	u->owner = j;
	io_u->engine_data = u;
	return 0;
}

static void pvfio_io_u_free(struct thread_data *td, struct io_u *io_u)
{
	struct pvfio_iou *u = io_u->engine_data;

	(void)td;
	if (!u)
		return;
	free(u->reqs);
	free(u->iov);
	free(u);
	io_u->engine_data = NULL;
}

/* Split io_u into ring requests; returns how many, 0 if it needs none. */
static unsigned int build_parts(struct pvfio_td *j, struct pvfio_iou *u,
				int *err)
{
	struct io_u *io_u = u->io_u;
	const struct pvio_blkfront_info *in = j->dev->info;
	unsigned int n = 0;

	*err = 0;
	switch (io_u->ddir) {
	case DDIR_READ:
	case DDIR_WRITE: {
		uint8_t op = io_u->ddir == DDIR_READ ? PVIO_BLKFRONT_READ
						     : PVIO_BLKFRONT_WRITE;
		char *p = io_u->xfer_buf;
		unsigned long long left = io_u->xfer_buflen;
		uint64_t off = io_u->offset;

		if ((off | left) % PVFIO_SECTOR) {
			*err = EINVAL; /* fio's bs/offset must be 512-aligned */
			return 0;
		}
		while (left) {
			uint64_t room = j->max_bytes -
					((uintptr_t)p & (PVFIO_PAGE - 1));
			uint64_t len = left < room ? left : room;

			len &= ~(uint64_t)(PVFIO_SECTOR - 1);
			if (len == 0 || n == j->max_parts) {
				*err = EINVAL;
				return 0;
			}
			u->iov[n].iov_base = p;
			u->iov[n].iov_len = len;
			u->reqs[n] = (struct pvio_blkfront_req){
				.op = op,
				.sector = off / PVFIO_SECTOR,
				.iov = &u->iov[n],
				.iovcnt = 1,
				.user = u,
			};
			n++;
			p += len;
			off += len;
			left -= len;
		}
		return n;
	}
	case DDIR_SYNC:
	case DDIR_DATASYNC:
	case DDIR_SYNC_FILE_RANGE:
		/* Without feature-flush-cache the backend has no cache to
		 * flush (as Linux blkfront treats it). */
		if (!in->flush)
			return 0;
		u->reqs[0] = (struct pvio_blkfront_req){
			.op = PVIO_BLKFRONT_FLUSH,
			.user = u,
		};
		return 1;
	case DDIR_TRIM:
		if (!in->discard) {
			*err = EOPNOTSUPP;
			return 0;
		}
		if ((io_u->offset | io_u->xfer_buflen) % PVFIO_SECTOR) {
			*err = EINVAL;
			return 0;
		}
		u->reqs[0] = (struct pvio_blkfront_req){
			.op = PVIO_BLKFRONT_DISCARD,
			.sector = io_u->offset / PVFIO_SECTOR,
			.nr_sectors = io_u->xfer_buflen / PVFIO_SECTOR,
			.user = u,
		};
		return 1;
	default:
		*err = EINVAL;
		return 0;
	}
}

static enum fio_q_status pvfio_queue(struct thread_data *td, struct io_u *io_u)
{
	struct pvfio_td *j = td->io_ops_data;
	struct pvfio_iou *u = io_u->engine_data;
	struct pvfio_dev *d = j->dev;
	unsigned int n;
	int err;

	fio_ro_check(td, io_u);
	if (!atomic_load_explicit(&d->base_taken, memory_order_acquire)) {
		/* Steady-state counters start at the first I/O (after
		 * attach and buffer setup). */
		pthread_mutex_lock(&g_lock);
		if (!atomic_load(&d->base_taken)) {
#ifndef PVIO_FIO_MOCK
			pvio_dom_get_stats(g_dom, &d->dom0);
#endif
			pvio_blkfront_get_stats(d->f, &d->fr0);
			atomic_store_explicit(&d->base_taken, true,
					      memory_order_release);
		}
		pthread_mutex_unlock(&g_lock);
	}
	n = build_parts(j, u, &err);
	if (n == 0) {
		io_u->error = err;
		return FIO_Q_COMPLETED;
	}
	/* Keep this job within the ring: the rest waits for completions. */
	if (j->npending + j->inflight + n > j->depth &&
	    j->npending + j->inflight > 0)
		return FIO_Q_BUSY;
	u->nparts = u->left = n;
	u->err = 0;
	io_u->error = 0;
	for (unsigned int i = 0; i < n; i++)
		j->pending[j->npending++] = &u->reqs[i];
	atomic_fetch_add_explicit(&d->ios, 1, memory_order_relaxed);
	return FIO_Q_QUEUED;
}

/* A reaped request: count it against its io_u, which completes (into its
 * owner's list) with its last part.  Under q->lock. */
static void complete_req(struct pvio_blkfront_req *r)
{
	struct pvfio_iou *u = r->user;
	struct pvfio_td *o = u->owner;

	if (r->status && !u->err)
		u->err = -r->status;
	o->inflight--;
	if (--u->left == 0) {
		u->io_u->error = u->err;
		o->mine[o->nmine++] = u->io_u;
	}
}

/* Fail requests that never reached the ring.  Under q->lock. */
static void fail_pending(struct pvfio_td *j, int err)
{
	for (unsigned int i = 0; i < j->npending; i++) {
		j->pending[i]->status = err;
		j->inflight++; /* complete_req() takes it back */
		complete_req(j->pending[i]);
	}
	j->npending = 0;
}

/* Put pending requests on the ring.  Under q->lock. */
static int submit_pending(struct pvfio_td *j)
{
	int n;

	if (j->npending == 0)
		return 0;
	n = pvio_blkfront_submit(j->dev->f, j->queue, j->pending, j->npending);
	if (n < 0) {
		fail_pending(j, n);
		return n;
	}
	j->inflight += (unsigned int)n;
	j->npending -= (unsigned int)n;
	memmove(j->pending, j->pending + n, j->npending * sizeof(*j->pending));
	return 0;
}

static int pvfio_commit(struct thread_data *td)
{
	struct pvfio_td *j = td->io_ops_data;

	pthread_mutex_lock(&j->q->lock);
	(void)submit_pending(j); /* failures complete as events */
	pthread_mutex_unlock(&j->q->lock);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int pvfio_getevents(struct thread_data *td, unsigned int min,
			   unsigned int max, const struct timespec *t)
{
	struct pvfio_td *j = td->io_ops_data;
	int64_t deadline = -1;

	j->nevents = 0;
	if (max > j->cap_mine)
		max = j->cap_mine;
	if (t)
		deadline = now_ms() + t->tv_sec * 1000 + t->tv_nsec / 1000000;
	for (;;) {
		int n, wait_ms;
		bool shared;

		pthread_mutex_lock(&j->q->lock);
		(void)submit_pending(j);
		while (j->nmine && j->nevents < max) {
			j->events[j->nevents++] = j->mine[0];
			memmove(j->mine, j->mine + 1,
				--j->nmine * sizeof(*j->mine));
		}
		if (j->nevents >= min ||
		    (j->inflight == 0 && j->npending == 0)) {
			pthread_mutex_unlock(&j->q->lock);
			break;
		}
		/* Sharing the queue: wait in short slices so the other
		 * jobs get the lock (their completions are routed to them
		 * by whoever reaps). */
		shared = atomic_load_explicit(&j->q->users,
					      memory_order_relaxed) > 1;
		wait_ms = shared ? 1 : -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0) {
				pthread_mutex_unlock(&j->q->lock);
				break;
			}
			if (wait_ms < 0 || left < wait_ms)
				wait_ms = (int)left;
		}
		n = pvio_blkfront_reap(j->dev->f, j->queue, j->done, j->depth,
				       j->inflight ? 1 : 0, wait_ms);
		if (n < 0) {
			/* The device stopped: fail what this job waits for;
			 * blkfront hands in-flight ones back as -ENOTCONN
			 * where it can, the rest can never complete. */
			log_err("pvio: %s: %s\n", j->dev->name, strerror(-n));
			fail_pending(j, n);
			pthread_mutex_unlock(&j->q->lock);
			if (j->nevents == 0 && j->nmine == 0) {
				td_verror(td, -n, "pvio reap");
				return n;
			}
			continue;
		}
		for (int i = 0; i < n; i++)
			complete_req(j->done[i]);
		pthread_mutex_unlock(&j->q->lock);
	}
	return (int)j->nevents;
}

static struct io_u *pvfio_event(struct thread_data *td, int event)
{
	struct pvfio_td *j = td->io_ops_data;

	if (event < 0 || (unsigned int)event >= j->nevents)
		return NULL;
	return j->events[event];
}

static int pvfio_open_file(struct thread_data *td, struct fio_file *f)
{
	(void)td;
	(void)f;
	return 0;
}

static int pvfio_close_file(struct thread_data *td, struct fio_file *f)
{
	(void)td;
	(void)f;
	return 0;
}

static int pvfio_invalidate(struct thread_data *td, struct fio_file *f)
{
	(void)td;
	(void)f;
	return 0; /* no guest page cache in between */
}

/* fio finds this by name with dlsym(). */
__attribute__((visibility("default"))) struct ioengine_ops ioengine = {
	.name = "pvio",
	.version = FIO_IOOPS_VERSION,
	.flags = FIO_DISKLESSIO | FIO_NOEXTEND | FIO_NODISKUTIL,
	.setup = pvfio_setup,
	.init = pvfio_init,
	.cleanup = pvfio_cleanup,
	.queue = pvfio_queue,
	.commit = pvfio_commit,
	.getevents = pvfio_getevents,
	.event = pvfio_event,
	.open_file = pvfio_open_file,
	.close_file = pvfio_close_file,
	.invalidate = pvfio_invalidate,
	.iomem_alloc = pvfio_iomem_alloc,
	.iomem_free = pvfio_iomem_free,
	.io_u_init = pvfio_io_u_init,
	.io_u_free = pvfio_io_u_free,
	.options = options,
	.option_struct_size = sizeof(struct pvfio_options),
};
