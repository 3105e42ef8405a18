/* SPDX-License-Identifier: MIT */
/*
 * pvio-blkfuse: a guest's pvio disk as one regular file, for unmodified
 * software (mkfs.ext4 MNT/xvda, mount -o loop MNT/xvda /x, dd, fio with
 * its ordinary engines).
 *
 * It runs inside a guest (its domain credential in the environment, as
 * the toolstack starts guests), attaches to one vbd with libblkfront and
 * serves a FUSE file system holding a single file named after the vdev,
 * as large as the disk.  Reads and writes of any offset and length are
 * turned into sector I/O (read-modify-write for partial sectors); fsync
 * is a cache flush; fallocate(PUNCH_HOLE) a discard; a read-only disk
 * refuses writes with EROFS.
 *
 * The file is opened with direct_io by default: the guest's page cache
 * would only hold a second copy of what the loop device (or the file
 * system above it) caches already, and with direct I/O an fsync that
 * returns means the backend has the data.  --cache turns it off.
 *
 * One thread serves requests in order, which is what makes the
 * read-modify-write of partial sectors safe without locks; the loop
 * device and mkfs issue sector-aligned I/O, so the slow path is rare.
 */
#define FUSE_USE_VERSION 34

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <pvio/blkfront.h>
#include <pvio/domain.h>
#include <pvio/xs.h>

#define SECTOR 512ULL
#define MAX_CHUNK (1U << 20)	   /* bytes per blkfront request, at most */
#define DISCARD_CHUNK (1ULL << 30) /* bytes per discard request */
#define FILE_INO 2

struct blkfuse {
	struct pvio_dom *dom;
	struct pvio_blkfront *front;
	const struct pvio_blkfront_info *info;
	char name[64];	       /* the file's name (the vdev) */
	uint64_t size;	       /* bytes */
	bool readonly;	       /* the disk, or --read-only */
	bool cache;	       /* --cache: no direct_io */
	bool discard_zeroes;   /* discarded sectors read back as zeroes */
	unsigned char *bounce; /* granted memory, 'chunk' bytes */
	unsigned char *zeroes; /* 'chunk' zero bytes */
	size_t chunk;
	struct timespec start;
	uint64_t reads, writes, flushes, discards;
};

/* ---------------------------------------------------------------------- */
/* Sector I/O                                                             */
/* ---------------------------------------------------------------------- */

static uint64_t round_up(uint64_t x)
{
	return (x + SECTOR - 1) & ~(SECTOR - 1);
}

/*
 * Read [off, off + len) of the disk (already clipped to its size) into
 * 'out', in chunks that fit one blkfront request.
 */
static int disk_read(struct blkfuse *b, uint64_t off, size_t len,
		     unsigned char *out)
{
	size_t done = 0;

	while (done < len) {
		uint64_t pos = off + done, s0 = pos & ~(SECTOR - 1);
		uint64_t end = round_up(off + len);
		size_t n, take;
		int rc;

		if (end > s0 + b->chunk)
			end = s0 + b->chunk;
		n = (size_t)(end - s0);
		rc = pvio_blkfront_read(b->front, s0 / SECTOR, b->bounce, n);
		if (rc < 0)
			return rc;
		take = (size_t)(end - pos);
		if (take > len - done)
			take = len - done;
		memcpy(out + done, b->bounce + (pos - s0), take);
		done += take;
	}
	b->reads++;
	return 0;
}

/* Write [off, off + len) from 'in', reading partial edge sectors first. */
static int disk_write(struct blkfuse *b, uint64_t off, size_t len,
		      const unsigned char *in)
{
	size_t done = 0;

	while (done < len) {
		uint64_t pos = off + done, s0 = pos & ~(SECTOR - 1);
		uint64_t end = round_up(off + len), tail;
		size_t n, take;
		bool head_read = false;
		int rc;

		if (end > s0 + b->chunk)
			end = s0 + b->chunk;
		n = (size_t)(end - s0);
		take = (size_t)(end - pos);
		if (take > len - done)
			take = len - done;
		if (pos != s0) {
			rc = pvio_blkfront_read(b->front, s0 / SECTOR,
						b->bounce, SECTOR);
			if (rc < 0)
				return rc;
			head_read = true;
		}
		tail = pos + take;
		if (tail & (SECTOR - 1)) {
			uint64_t last = tail & ~(SECTOR - 1);

			if (!(head_read && last == s0)) {
				rc = pvio_blkfront_read(b->front, last / SECTOR,
							b->bounce + (last - s0),
							SECTOR);
				if (rc < 0)
					return rc;
			}
		}
		memcpy(b->bounce + (pos - s0), in + done, take);
		rc = pvio_blkfront_write(b->front, s0 / SECTOR, b->bounce, n);
		if (rc < 0)
			return rc;
		done += take;
	}
	b->writes++;
	return 0;
}

static int disk_zero(struct blkfuse *b, uint64_t off, uint64_t len)
{
	while (len) {
		size_t n = len > b->chunk ? b->chunk : (size_t)len;
		int rc = disk_write(b, off, n, b->zeroes);

		if (rc)
			return rc;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * Make [off, off + len) read back as zeroes, giving the backend the
 * chance to free the space: whole sectors are discarded when a discard
 * is known to zero them (blkback punches holes in image files), partial
 * sectors and everything else are written with zeroes.
 */
static int disk_punch(struct blkfuse *b, uint64_t off, uint64_t len)
{
	uint64_t a = round_up(off), z = (off + len) & ~(SECTOR - 1);
	int rc;

	if (!b->discard_zeroes || a >= z)
		return disk_zero(b, off, len);
	rc = disk_zero(b, off, a - off);
	for (uint64_t p = a; !rc && p < z;) {
		uint64_t n = z - p > DISCARD_CHUNK ? DISCARD_CHUNK : z - p;

		rc = pvio_blkfront_discard(b->front, p / SECTOR, n / SECTOR);
		p += n;
	}
	if (!rc)
		rc = disk_zero(b, z, off + len - z);
	if (!rc)
		b->discards++;
	return rc;
}

/* ---------------------------------------------------------------------- */
/* The file system: a root directory holding one file                     */
/* ---------------------------------------------------------------------- */

static void fill_attr(const struct blkfuse *b, fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_atim = st->st_mtim = st->st_ctim = b->start;
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | (b->readonly ? 0444 : 0644);
		st->st_nlink = 1;
		st->st_size = (off_t)b->size;
		st->st_blocks = (blkcnt_t)(b->size / 512);
		st->st_blksize = 4096;
	}
}

static void bf_init(void *ud, struct fuse_conn_info *conn)
{
	(void)ud;
	/* Big requests: mkfs and the loop device write megabytes. */
	conn->max_write = MAX_CHUNK;
	conn->max_readahead = MAX_CHUNK;
}

static void bf_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct blkfuse *b = fuse_req_userdata(req);
	struct fuse_entry_param e;

	if (parent != FUSE_ROOT_ID || strcmp(name, b->name) != 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = FILE_INO;
	e.attr_timeout = 3600;
	e.entry_timeout = 3600;
	fill_attr(b, FILE_INO, &e.attr);
	fuse_reply_entry(req, &e);
}

static void bf_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct blkfuse *b = fuse_req_userdata(req);
	struct stat st;

	(void)fi;
	if (ino != FUSE_ROOT_ID && ino != FILE_INO) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_attr(b, ino, &st);
	fuse_reply_attr(req, &st, 3600);
}

/*
 * Like a block device: the size is the disk's.  O_TRUNC and truncate()
 * (dd without conv=notrunc) are accepted and change nothing; times and
 * modes are not stored.
 */
static void bf_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct blkfuse *b = fuse_req_userdata(req);
	struct stat st;

	(void)attr;
	(void)fi;
	if (ino != FILE_INO) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if ((to_set & FUSE_SET_ATTR_SIZE) && b->readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	fill_attr(b, ino, &st);
	fuse_reply_attr(req, &st, 3600);
}

static void bf_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct blkfuse *b = fuse_req_userdata(req);

	if (ino != FILE_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY && b->readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	fi->direct_io = !b->cache;
	fi->keep_cache = b->cache;
	fuse_reply_open(req, fi);
}

static void bf_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct blkfuse *b = fuse_req_userdata(req);
	unsigned char *buf;
	int rc;

	(void)ino;
	(void)fi;
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if ((uint64_t)off >= b->size) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > b->size - (uint64_t)off)
		size = (size_t)(b->size - (uint64_t)off);
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	rc = disk_read(b, (uint64_t)off, size, buf);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, (const char *)buf, size);
	free(buf);
}

static void bf_write(fuse_req_t req, fuse_ino_t ino, const char *data,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct blkfuse *b = fuse_req_userdata(req);
	int rc;

	(void)ino;
	(void)fi;
	if (b->readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	/* A block device: no space past its end. */
	if ((uint64_t)off >= b->size) {
		fuse_reply_err(req, size ? ENOSPC : 0);
		return;
	}
	if (size > b->size - (uint64_t)off)
		size = (size_t)(b->size - (uint64_t)off);
	rc = disk_write(b, (uint64_t)off, size, (const unsigned char *)data);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, size);
}

static void bf_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	/* close(): nothing is buffered here (writes are synchronous). */
	fuse_reply_err(req, 0);
}

static void bf_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	struct blkfuse *b = fuse_req_userdata(req);
	int rc = 0;

	(void)ino;
	(void)datasync;
	(void)fi;
	/* Without feature-flush-cache the backend writes through. */
	if (b->info->flush && !b->readonly)
		rc = pvio_blkfront_flush(b->front);
	if (!rc)
		b->flushes++;
	fuse_reply_err(req, -rc);
}

static void bf_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off,
			 off_t len, struct fuse_file_info *fi)
{
	struct blkfuse *b = fuse_req_userdata(req);
	uint64_t o = (uint64_t)off, l = (uint64_t)len;
	int rc = 0;

	(void)ino;
	(void)fi;
	if (off < 0 || len <= 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE |
		     FALLOC_FL_ZERO_RANGE)) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (!(mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))) {
		/* Allocation: every byte of a disk exists already. */
		if (!(mode & FALLOC_FL_KEEP_SIZE) && o + l > b->size)
			rc = -EFBIG;
		fuse_reply_err(req, -rc);
		return;
	}
	if (b->readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE)) {
		fuse_reply_err(req, EINVAL); /* as fallocate(2) says */
		return;
	}
	if (o >= b->size) {
		fuse_reply_err(req, 0);
		return;
	}
	if (l > b->size - o)
		l = b->size - o;
	rc = (mode & FALLOC_FL_PUNCH_HOLE) ? disk_punch(b, o, l)
					   : disk_zero(b, o, l);
	fuse_reply_err(req, -rc);
}

static void bf_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	if (ino != FUSE_ROOT_ID)
		fuse_reply_err(req, ENOTDIR);
	else
		fuse_reply_open(req, fi);
}

static void bf_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct blkfuse *b = fuse_req_userdata(req);
	const char *names[] = {".", "..", b->name};
	const fuse_ino_t inos[] = {FUSE_ROOT_ID, FUSE_ROOT_ID, FILE_INO};
	char buf[512];
	size_t used = 0;

	(void)fi;
	if (ino != FUSE_ROOT_ID) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	if (size > sizeof(buf))
		size = sizeof(buf);
	for (off_t i = off; i < 3; i++) {
		struct stat st;
		size_t n;

		fill_attr(b, inos[i], &st);
		n = fuse_add_direntry(req, buf + used, size - used, names[i],
				      &st, i + 1);
		if (n > size - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
}

static void bf_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct blkfuse *b = fuse_req_userdata(req);
	struct statvfs sv;

	(void)ino;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_blocks = (b->size + 4095) / 4096;
	sv.f_files = 2;
	sv.f_namemax = 255;
	if (b->readonly)
		sv.f_flag |= ST_RDONLY;
	fuse_reply_statfs(req, &sv);
}

static const struct fuse_lowlevel_ops ops = {
	.init = bf_init,
	.lookup = bf_lookup,
	.getattr = bf_getattr,
	.setattr = bf_setattr,
	.open = bf_open,
	.read = bf_read,
	.write = bf_write,
	.flush = bf_flush,
	.fsync = bf_fsync,
	.fallocate = bf_fallocate,
	.opendir = bf_opendir,
	.readdir = bf_readdir,
	.statfs = bf_statfs,
};

/* ---------------------------------------------------------------------- */
/* Setup                                                                  */
/* ---------------------------------------------------------------------- */

struct options {
	const char *vdev;
	const char *mountpoint;
	const char *name;
	pvio_domid_t backend;
	bool foreground, cache, readonly, no_discard;
	const char *fuse_opts;
	struct pvio_blkfront_opts bf;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: pvio-blkfuse [OPTIONS] MOUNTPOINT\n"
		   "Export a pvio disk of this guest as MOUNTPOINT/<vdev>.\n"
		   "Runs inside a guest (PVIO_DOMAIN_CRED / PVIO_RUN_DIR).\n\n"
		   "  --vdev NAME          the vbd (xvda, 51712, ...); default "
		   "xvda\n"
		   "  --name FILE          the file's name; default the vdev\n"
		   "  --backend DOMID      expect this backend domain\n"
		   "  --queues N           blkfront queues (default 1)\n"
		   "  --ring-order N       log2 ring pages\n"
		   "  --max-indirect N     segments per indirect request\n"
		   "  --no-persistent      do not offer persistent grants\n"
		   "  --no-indirect        direct requests only\n"
		   "  --timeout-ms N       handshake timeout (default 10000)\n"
		   "  --read-only          export read-only even if writable\n"
		   "  --no-discard         punch holes by writing zeroes\n"
		   "  --cache              use the page cache (no direct_io)\n"
		   "  -o OPTS              more FUSE mount options\n"
		   "  -f, --foreground     do not detach\n"
		   "Stop with SIGTERM or `fusermount3 -u MOUNTPOINT`.\n");
}

static int parse_uint(const char *s, unsigned int max, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !*s || *end || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	enum {
		O_VDEV = 256,
		O_NAME,
		O_BACKEND,
		O_QUEUES,
		O_RING,
		O_INDIRECT,
		O_NOPERS,
		O_NOIND,
		O_TIMEOUT,
		O_RO,
		O_NODISCARD,
		O_CACHE,
	};
	static const struct option lo[] = {
		{"vdev", required_argument, NULL, O_VDEV},
		{"name", required_argument, NULL, O_NAME},
		{"backend", required_argument, NULL, O_BACKEND},
		{"queues", required_argument, NULL, O_QUEUES},
		{"ring-order", required_argument, NULL, O_RING},
		{"max-indirect", required_argument, NULL, O_INDIRECT},
		{"no-persistent", no_argument, NULL, O_NOPERS},
		{"no-indirect", no_argument, NULL, O_NOIND},
		{"timeout-ms", required_argument, NULL, O_TIMEOUT},
		{"read-only", no_argument, NULL, O_RO},
		{"no-discard", no_argument, NULL, O_NODISCARD},
		{"cache", no_argument, NULL, O_CACHE},
		{"foreground", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned int v;
	int c;

	memset(o, 0, sizeof(*o));
	o->vdev = "xvda";
	o->backend = PVIO_BLKFRONT_ANY_BACKEND;
	while ((c = getopt_long(argc, argv, "fho:", lo, NULL)) != -1) {
		int bad = 0;

		switch (c) {
		case O_VDEV:
			o->vdev = optarg;
			break;
		case O_NAME:
			o->name = optarg;
			break;
		case O_BACKEND:
			bad = parse_uint(optarg, DOMID_FIRST_RESERVED - 1, &v);
			o->backend = (pvio_domid_t)v;
			break;
		case O_QUEUES:
			bad = parse_uint(optarg, 64, &o->bf.max_queues);
			break;
		case O_RING:
			bad = parse_uint(optarg, 8, &o->bf.ring_order);
			break;
		case O_INDIRECT:
			bad = parse_uint(optarg, 4096, &o->bf.max_indirect);
			break;
		case O_NOPERS:
			o->bf.no_persistent = true;
			break;
		case O_NOIND:
			o->bf.no_indirect = true;
			break;
		case O_TIMEOUT:
			bad = parse_uint(optarg, 3600000, &v);
			o->bf.timeout_ms = (int)v;
			break;
		case O_RO:
			o->readonly = true;
			break;
		case O_NODISCARD:
			o->no_discard = true;
			break;
		case O_CACHE:
			o->cache = true;
			break;
		case 'o':
			o->fuse_opts = optarg;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
		if (bad) {
			fprintf(stderr, "pvio-blkfuse: bad value '%s'\n",
				optarg);
			return -EINVAL;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return -EINVAL;
	}
	o->mountpoint = argv[optind];
	if (!o->name)
		o->name = o->vdev;
	if (!*o->name || strchr(o->name, '/') || strlen(o->name) >= 64 ||
	    !strcmp(o->name, ".") || !strcmp(o->name, "..")) {
		fprintf(stderr, "pvio-blkfuse: bad file name '%s'\n", o->name);
		return -EINVAL;
	}
	return 0;
}

/*
 * Whether a discard of this vbd reads back as zeroes: blkback punches
 * holes in image files (type "file"), but BLKDISCARD on a device need
 * not zero anything.  Read from the backend directory, which the
 * frontend may read.
 */
static bool discard_zeroes(struct blkfuse *b)
{
	char path[128], *bpath = NULL, *type = NULL;
	struct pvio_xs *xs;
	bool yes = false;
	int err = 0;

	if (!b->info->discard)
		return false;
	xs = pvio_dom_xs_open(b->dom, &err);
	if (!xs)
		return false;
	snprintf(path, sizeof(path), "/local/domain/%u/device/vbd/%u/backend",
		 pvio_dom_id(b->dom), b->info->devid);
	if (pvio_xs_read(xs, PVIO_XS_TX_NONE, path, &bpath, NULL) == 0 &&
	    strlen(bpath) < 100) {
		snprintf(path, sizeof(path), "%s/type", bpath);
		if (pvio_xs_read(xs, PVIO_XS_TX_NONE, path, &type, NULL) == 0)
			yes = !strcmp(type, "file");
	}
	free(bpath);
	free(type);
	pvio_xs_close(xs);
	return yes;
}

static int attach(struct blkfuse *b, const struct options *o)
{
	int err = 0;
	uint64_t max;

	b->dom = pvio_dom_open(NULL, NULL, &err);
	if (!b->dom) {
		fprintf(stderr,
			"pvio-blkfuse: cannot open this domain: %s (run it "
			"as a guest: PVIO_DOMAIN_CRED and PVIO_RUN_DIR)\n",
			strerror(-err));
		return err;
	}
	b->front =
		pvio_blkfront_attach(b->dom, o->backend, o->vdev, &o->bf, &err);
	if (!b->front) {
		fprintf(stderr, "pvio-blkfuse: attach %s: %s\n", o->vdev,
			strerror(-err));
		return err;
	}
	b->info = pvio_blkfront_info(b->front);
	b->size = b->info->sectors * SECTOR;
	b->readonly = b->info->readonly || o->readonly;
	b->cache = o->cache;
	max = b->info->max_sectors * SECTOR;
	b->chunk = max < MAX_CHUNK ? (size_t)max : MAX_CHUNK;
	b->chunk &= ~(size_t)(SECTOR - 1);
	if (b->chunk < SECTOR)
		b->chunk = SECTOR;
	b->bounce = pvio_blkfront_buf_alloc(b->front, b->chunk, &err);
	b->zeroes = calloc(1, b->chunk);
	if (!b->bounce || !b->zeroes) {
		fprintf(stderr, "pvio-blkfuse: buffers: %s\n",
			strerror(b->bounce ? ENOMEM : -err));
		return b->bounce ? -ENOMEM : err;
	}
	b->discard_zeroes = !o->no_discard && discard_zeroes(b);
	snprintf(b->name, sizeof(b->name), "%s", o->name);
	clock_gettime(CLOCK_REALTIME, &b->start);
	return 0;
}

static void teardown(struct blkfuse *b)
{
	if (b->front && b->bounce)
		pvio_blkfront_buf_free(b->front, b->bounce, b->chunk);
	free(b->zeroes);
	pvio_blkfront_detach(b->front, 10000);
	pvio_dom_close(b->dom);
}

/*
 * Daemon mode: fork before anything is opened (blkfront may start
 * threads, which do not survive a fork); the parent waits for the child
 * to report that the file system is mounted, so that its exit status
 * tells a script whether MNT/<vdev> is usable.
 */
static int daemonize(int *report_fd)
{
	int p[2];
	pid_t pid;
	char status = 1;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &status, 1) != 1)
			status = 1;
		_exit(status);
	}
	close(p[0]);
	/* No setsid(): staying in the guest's process group lets whoever
	 * ends the domain end this daemon with it. */
	*report_fd = p[1];
	return 0;
}

static void report(int *fd, char status)
{
	if (*fd < 0)
		return;
	if (write(*fd, &status, 1) != 1)
		perror("pvio-blkfuse: report");
	close(*fd);
	*fd = -1;
}

int main(int argc, char **argv)
{
	struct blkfuse b;
	struct options o;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	char opts[512];
	int rc, report_fd = -1, status = 1;

	memset(&b, 0, sizeof(b));
	if (parse_args(argc, argv, &o))
		return 2;
	if (!o.foreground && daemonize(&report_fd)) {
		perror("pvio-blkfuse: fork");
		return 1;
	}
	rc = attach(&b, &o);
	if (rc)
		goto out;
	snprintf(opts, sizeof(opts),
		 "fsname=pvio:%s,subtype=pvio-blkfuse%s%s%s", o.vdev,
		 b.readonly ? ",ro" : "", o.fuse_opts ? "," : "",
		 o.fuse_opts ? o.fuse_opts : "");
	if (fuse_opt_add_arg(&args, argv[0]) || fuse_opt_add_arg(&args, "-o") ||
	    fuse_opt_add_arg(&args, opts)) {
		fprintf(stderr, "pvio-blkfuse: out of memory\n");
		goto out;
	}
	se = fuse_session_new(&args, &ops, sizeof(ops), &b);
	if (!se)
		goto out;
	if (fuse_set_signal_handlers(se)) {
		fuse_session_destroy(se);
		se = NULL;
		goto out;
	}
	if (fuse_session_mount(se, o.mountpoint)) {
		fprintf(stderr, "pvio-blkfuse: cannot mount on %s\n",
			o.mountpoint);
		goto out_handlers;
	}
	fprintf(stderr,
		"pvio-blkfuse: %s/%s: %llu bytes (%s%s, %u queue(s), backend "
		"domain %u%s)\n",
		o.mountpoint, b.name, (unsigned long long)b.size,
		b.readonly ? "read-only" : "read-write",
		b.info->persistent ? ", persistent grants" : "",
		b.info->nr_queues, b.info->backend_id,
		b.discard_zeroes ? ", discard punches holes" : "");
	if (chdir("/") < 0)
		perror("pvio-blkfuse: chdir");
	report(&report_fd, 0);
	rc = fuse_session_loop(se);
	fuse_session_unmount(se);
	fprintf(stderr,
		"pvio-blkfuse: %s unmounted: %llu reads, %llu writes, %llu "
		"flushes, %llu discards\n",
		o.mountpoint, (unsigned long long)b.reads,
		(unsigned long long)b.writes, (unsigned long long)b.flushes,
		(unsigned long long)b.discards);
	status = rc < 0 ? 1 : 0;
out_handlers:
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	se = NULL;
out:
	fuse_opt_free_args(&args);
	teardown(&b);
	report(&report_fd, 1);
	return status;
}
