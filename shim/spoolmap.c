/*
 * spoolmap.c - owns the mapped spool file: the window of address space the
 * collector's spool file is mapped into (MAP_SHARED), the bytes really
 * allocated in it (fallocate, in chunks that grow), the reservation of
 * frames and the wake of a sleeping collector (handoff.h).
 *
 * One 64-bit word per window holds (frames reserved << 32 | end of data):
 * a record is reserved with one compare-and-swap on it, so file order is
 * seq order (seq = the window's first seq + frames before it), then copied
 * in: payload and CRC first, the length word last after a release fence
 * (a reader that sees a length sees the frame; 0 = not written yet). Then a
 * full fence and a read of the collector's "asleep" word: only when it is
 * set, one write() to its eventfd. Pages behind the data are dropped from
 * the process's RSS now and then (the page cache keeps them).
 * Must never write a byte the file has not allocated (a sparse page on a
 * full disk would be SIGBUS in the host program), never leave a hole in the
 * file for a failed reservation (a reservation never goes past what is
 * allocated), never unmap a window another thread may still write into
 * (given-up windows stay mapped until fork or exec), and never block in a
 * signal handler (growth only tries the lock there).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handoff.h"
#include "real.h"
#include "shim.h"
#include "spool.h"
#include "spoolmap.h"

#define SPOOLMAP_WINDOW_BYTES (1ull << 30)      /* address space, not RSS */
#define SPOOLMAP_FIRST_CHUNK_BYTES (256u * 1024)
#define SPOOLMAP_OWN_CHUNK_BYTES (16u * 1024)     /* a claimed file: most
							   processes write little */
#define SPOOLMAP_MAX_CHUNK_BYTES (4u * 1024 * 1024)
#define SPOOLMAP_STEP_BYTES (128u * 1024)       /* RSS: populated ahead and
							   dropped behind, per step */
#define SPOOLMAP_MAX_WINDOWS 64                 /* then write() only */
#define SPOOLMAP_LOW_WATER_BYTES (8u * 1024)    /* grow before less is left:
							   a signal handler then
							   never needs the lock
							   the code it interrupted
							   holds to grow */
#define SPOOLMAP_CLOSED 0xffffffffu             /* end of data: given up */
#define SPOOLMAP_FRAME_MAX (SPOOL_FRAME_HEADER_BYTES + SPOOL_MAX_PAYLOAD)

struct spoolmap_window {
	unsigned char *base;           /* SPOOLMAP_WINDOW_BYTES from offset 0 */
	const uint32_t *asleep;        /* the collector's wake page, read-only */
	uint64_t state;                /* atomic: frames << 32 | end of data */
	uint64_t allocated;            /* atomic: bytes the file really has */
	uint64_t chunk;                /* next growth step (lock held) */
	int64_t seq_base;              /* seq of the window's first frame */
	dev_t dev;                     /* the spool file, to know it again */
	ino_t ino;
	int fd;                        /* atomic: spool fd; -1: not ours now */
	int event_fd;                  /* atomic: the eventfd; -1: gone */
};

static struct spoolmap_window spoolmap_windows[SPOOLMAP_MAX_WINDOWS];
static unsigned spoolmap_count;                 /* windows used (lock held) */
static struct spoolmap_window *spoolmap_current; /* atomic */
static int spoolmap_disabled;                   /* atomic: write() only */
static pthread_mutex_t spoolmap_lock = PTHREAD_MUTEX_INITIALIZER;

static int spoolmap_lock_take(void)
{
	if (shim_nested())
		return pthread_mutex_trylock(&spoolmap_lock) == 0 ? 0 : -EAGAIN;
	pthread_mutex_lock(&spoolmap_lock);
	return 0;
}

int spoolmap_wanted(void)
{
	return !__atomic_load_n(&spoolmap_disabled, __ATOMIC_RELAXED) &&
		__atomic_load_n(&spoolmap_count, __ATOMIC_RELAXED) <
		SPOOLMAP_MAX_WINDOWS;
}

int spoolmap_active(void)
{
	struct spoolmap_window *w = __atomic_load_n(&spoolmap_current,
						    __ATOMIC_ACQUIRE);

	return w != NULL && (uint32_t)__atomic_load_n(&w->state, __ATOMIC_ACQUIRE) !=
		SPOOLMAP_CLOSED;
}

/*
 * Closes w to new reservations; 1 when this call closed it. The seq
 * counter goes on after its last frame.
 */
static int spoolmap_close(struct spoolmap_window *w)
{
	uint64_t s = __atomic_load_n(&w->state, __ATOMIC_ACQUIRE);

	do {
		if ((uint32_t)s == SPOOLMAP_CLOSED)
			return 0;
	} while (!__atomic_compare_exchange_n(&w->state, &s,
					      (s & ~0xffffffffull) | SPOOLMAP_CLOSED,
					      1, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	emit_seq_advance(w->seq_base + (int64_t)(s >> 32));
	return 1;
}

/* Closes w and lets go of its file: the next record asks for a new one. */
static void spoolmap_give_up(struct spoolmap_window *w)
{
	int fd = __atomic_exchange_n(&w->fd, -1, __ATOMIC_ACQ_REL);

	spoolmap_close(w);
	if (fd >= 0)
		handoff_abandon(fd);     /* closes it only while still ours */
}

/* 1 when fd is still the spool file of w (not a program's file since). */
static int spoolmap_same_file(const struct spoolmap_window *w, int fd)
{
	struct stat st;

	return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == w->dev &&
		st.st_ino == w->ino;
}

/* Makes w's file at least end bytes long. 0, -ENODEV (given up), -EAGAIN. */
static int spoolmap_grow(struct spoolmap_window *w, uint64_t end)
{
	uint64_t have, want;
	int fd, rc = 0;

	if (spoolmap_lock_take() < 0)
		return -EAGAIN;
	if ((uint32_t)__atomic_load_n(&w->state, __ATOMIC_ACQUIRE) == SPOOLMAP_CLOSED) {
		rc = -ENODEV;
		goto out;
	}
	have = __atomic_load_n(&w->allocated, __ATOMIC_ACQUIRE);
	if (end <= have)
		goto out;                 /* another thread grew it */
	fd = __atomic_load_n(&w->fd, __ATOMIC_ACQUIRE);
	if (end > SPOOLMAP_WINDOW_BYTES || !spoolmap_same_file(w, fd)) {
		/* full, or the program closed our descriptor: a new file */
		spoolmap_give_up(w);
		rc = -ENODEV;
		goto out;
	}
	want = have + w->chunk;
	if (want < end)
		want = end;
	if (want > SPOOLMAP_WINDOW_BYTES)
		want = SPOOLMAP_WINDOW_BYTES;
	do {
		rc = fallocate(fd, 0, (off_t)have, (off_t)(want - have));
	} while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		/* Disk full, or no fallocate here: write() from now on, which
		 * falls back and counts losses as it always did. */
		__atomic_store_n(&spoolmap_disabled, 1, __ATOMIC_RELAXED);
		spoolmap_give_up(w);
		rc = -ENODEV;
		goto out;
	}
	__atomic_store_n(&w->allocated, want, __ATOMIC_RELEASE);
	if (w->chunk < SPOOLMAP_MAX_CHUNK_BYTES)
		w->chunk *= 2;
out:
	pthread_mutex_unlock(&spoolmap_lock);
	return rc;
}

/*
 * The data just entered step k (SPOOLMAP_STEP_BYTES each): maps step k + 1
 * writable ahead of it, as far as it is allocated (one system call instead
 * of a page fault per page; growing the file first when it must), and
 * drops step k - 1 from the RSS (shared file
 * pages: only our page table entries go; the page cache keeps the data, so
 * this is safe even under a writer that is late).
 */
static void spoolmap_step(struct spoolmap_window *w, uint64_t k)
{
	uint64_t from = (k + 1) * SPOOLMAP_STEP_BYTES, to = from + SPOOLMAP_STEP_BYTES;
	uint64_t have = __atomic_load_n(&w->allocated, __ATOMIC_ACQUIRE);

	if (to > have && spoolmap_grow(w, to) == 0)
		have = __atomic_load_n(&w->allocated, __ATOMIC_ACQUIRE);
	if (to > have)
		to = have;
	if (from < to)
		(void)madvise(w->base + from, to - from, MADV_POPULATE_WRITE);
	if (k >= 1)
		(void)madvise(w->base + (k - 1) * SPOOLMAP_STEP_BYTES,
			      SPOOLMAP_STEP_BYTES, MADV_DONTNEED);
}

int spoolmap_append(spoolmap_encode_fn *encode, void *context,
		    unsigned char *frame, size_t cap)
{
	struct spoolmap_window *w = __atomic_load_n(&spoolmap_current,
						    __ATOMIC_ACQUIRE);
	uint64_t s, tail = 0, end = 0, encoded_for = ~0ull;
	long len = 0;
	int event_fd, rc;

	if (w == NULL)
		return -ENODEV;
	s = __atomic_load_n(&w->state, __ATOMIC_ACQUIRE);
	for (;;) {
		uint64_t frames = s >> 32;

		tail = (uint32_t)s;
		if (tail == SPOOLMAP_CLOSED)
			return -ENODEV;
		if (frames != encoded_for) {
			/* the seq is part of the record: encode for this slot */
			len = encode(context, w->seq_base + (int64_t)frames, frame,
				     cap);
			if (len <= 0)
				return len < 0 ? (int)len : -EINVAL;
			if ((size_t)len > cap || (size_t)len > SPOOLMAP_FRAME_MAX ||
			    (size_t)len <= SPOOL_FRAME_HEADER_BYTES)
				return -EINVAL;
			encoded_for = frames;
		}
		end = tail + (uint64_t)len;
		if (end > __atomic_load_n(&w->allocated, __ATOMIC_ACQUIRE)) {
			rc = spoolmap_grow(w, end);
			if (rc < 0)
				return rc;
			s = __atomic_load_n(&w->state, __ATOMIC_ACQUIRE);
			continue;
		}
		if (__atomic_compare_exchange_n(&w->state, &s, (frames + 1) << 32 | end,
						1, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			break;
	}
	/* Ours: [tail, end). The bytes, then the length word that publishes
	 * them (4 bytes, maybe unaligned: a reader re-reads a torn frame). */
	memcpy(w->base + tail + 4, frame + 4, (size_t)len - 4);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(w->base + tail, frame, 4);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(w->asleep, __ATOMIC_RELAXED) != 0) {
		event_fd = __atomic_load_n(&w->event_fd, __ATOMIC_RELAXED);
		if (event_fd >= 0) {
			uint64_t one = 1;

			(void)!REAL(write)(event_fd, &one, sizeof(one));
		}
	}
	if (tail / SPOOLMAP_STEP_BYTES != end / SPOOLMAP_STEP_BYTES)
		spoolmap_step(w, end / SPOOLMAP_STEP_BYTES);
	else if (__atomic_load_n(&w->allocated, __ATOMIC_RELAXED) - end <
		 SPOOLMAP_LOW_WATER_BYTES && !shim_nested())
		(void)spoolmap_grow(w, end + SPOOLMAP_LOW_WATER_BYTES);
	return 0;
}

/* 1 when fd is an eventfd (its /proc/self/fd link says so). */
static int spoolmap_is_eventfd(int fd)
{
	static const char want[] = "anon_inode:[eventfd]";
	char path[64], link[sizeof(want) + 1];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link));
	return n == (ssize_t)sizeof(want) - 1 && memcmp(link, want, (size_t)n) == 0;
}

/* Checks the three descriptors of a mapped reply (handoff.h). */
static int spoolmap_check(int spool_fd, int page_fd, int event_fd,
			  struct stat *spool_st)
{
	const int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE;
	struct stat st;
	int fl;

	fl = REAL(fcntl)(spool_fd, F_GETFL);
	if (fstat(spool_fd, spool_st) != 0 || !S_ISREG(spool_st->st_mode) ||
	    spool_st->st_size != SPOOL_HEADER_BYTES || fl < 0 ||
	    (fl & O_ACCMODE) != O_RDWR || (fl & O_APPEND))
		return -EPROTO;
	fl = REAL(fcntl)(page_fd, F_GET_SEALS);
	if (fstat(page_fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size != HANDOFF_WAKE_PAGE_BYTES || fl < 0 || (fl & seals) != seals)
		return -EPROTO;
	if (!spoolmap_is_eventfd(event_fd))
		return -EPROTO;
	return 0;
}

/* The wake word of a window over the process's own file: no collector
 * handed it over, so none is woken (it reads the file at its next tick). */
static const uint32_t spoolmap_no_collector;

/*
 * Maps spool_fd (header written, nothing after) as a new window whose first
 * chunk bytes are allocated, and makes it current. Lock held. 0 or a
 * negative errno (nothing kept).
 */
static int spoolmap_window_add(int spool_fd, const struct stat *st,
			       const uint32_t *asleep, int event_fd, uint32_t chunk)
{
	struct spoolmap_window *w;
	void *base;
	int rc;

	base = REAL(mmap)(NULL, SPOOLMAP_WINDOW_BYTES, PROT_READ | PROT_WRITE,
			  MAP_SHARED, spool_fd, 0);
	if (base == MAP_FAILED)
		return -ENOMEM;
	do {
		rc = fallocate(spool_fd, 0, SPOOL_HEADER_BYTES,
			       chunk - SPOOL_HEADER_BYTES);
	} while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		rc = -errno;
		__atomic_store_n(&spoolmap_disabled, 1, __ATOMIC_RELAXED);
		munmap(base, SPOOLMAP_WINDOW_BYTES);
		return rc;
	}
	/* Nothing populated yet: most processes write a record or two, and a
	   page costs its allocation whether populated or faulted in; writers
	   that go on get each next step populated ahead (spoolmap_step). */
	w = &spoolmap_windows[spoolmap_count];
	w->base = base;
	w->asleep = asleep;
	w->allocated = chunk;
	w->chunk = chunk;
	w->seq_base = emit_seq_peek();
	w->dev = st->st_dev;
	w->ino = st->st_ino;
	handoff_note_fd(spool_fd);
	handoff_note_fd(event_fd);
	w->fd = spool_fd;
	w->event_fd = event_fd;
	__atomic_store_n(&w->state, (uint64_t)SPOOL_HEADER_BYTES, __ATOMIC_RELEASE);
	__atomic_store_n(&spoolmap_count, spoolmap_count + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&spoolmap_current, w, __ATOMIC_RELEASE);
	return 0;
}

int spoolmap_attach(int spool_fd, int page_fd, int event_fd, int floor)
{
	void *page = MAP_FAILED;
	struct stat st;
	int high, rc;

	if (spoolmap_lock_take() < 0) {
		rc = -EAGAIN;
		goto fail;
	}
	rc = -ENOSPC;
	if (spoolmap_count >= SPOOLMAP_MAX_WINDOWS)
		goto fail_locked;
	rc = spoolmap_check(spool_fd, page_fd, event_fd, &st);
	if (rc < 0)
		goto fail_locked;
	page = REAL(mmap)(NULL, HANDOFF_WAKE_PAGE_BYTES, PROT_READ, MAP_SHARED,
			  page_fd, 0);
	if (page == MAP_FAILED) {
		rc = -ENOMEM;
		goto fail_locked;
	}
	high = REAL(fcntl)(event_fd, F_DUPFD_CLOEXEC, floor);
	if (high >= 0) {
		REAL(close)(event_fd);
		event_fd = high;
	}
	rc = spoolmap_window_add(spool_fd, &st, page, event_fd,
				 SPOOLMAP_FIRST_CHUNK_BYTES);
	if (rc < 0)
		goto fail_locked;
	REAL(close)(page_fd);
	pthread_mutex_unlock(&spoolmap_lock);
	return 0;
fail_locked:
	pthread_mutex_unlock(&spoolmap_lock);
fail:
	if (page != MAP_FAILED)
		munmap(page, HANDOFF_WAKE_PAGE_BYTES);
	REAL(close)(page_fd);
	REAL(close)(event_fd);
	return rc;
}

int spoolmap_attach_own(int spool_fd)
{
	struct stat st;
	int fl = REAL(fcntl)(spool_fd, F_GETFL), rc;

	if (fl < 0 || (fl & O_ACCMODE) != O_RDWR || fstat(spool_fd, &st) != 0 ||
	    !S_ISREG(st.st_mode) || st.st_size != SPOOL_HEADER_BYTES)
		return -EPROTO;
	if (spoolmap_lock_take() < 0)
		return -EAGAIN;
	rc = spoolmap_count >= SPOOLMAP_MAX_WINDOWS ? -ENOSPC :
		spoolmap_window_add(spool_fd, &st, &spoolmap_no_collector, -1,
				    SPOOLMAP_OWN_CHUNK_BYTES);
	pthread_mutex_unlock(&spoolmap_lock);
	return rc;
}

long spoolmap_own_frames(void)
{
	struct spoolmap_window *w = __atomic_load_n(&spoolmap_current,
						    __ATOMIC_ACQUIRE);
	uint64_t s;

	if (w == NULL || w->asleep != &spoolmap_no_collector)
		return -1;
	s = __atomic_load_n(&w->state, __ATOMIC_ACQUIRE);
	return (uint32_t)s == SPOOLMAP_CLOSED ? -1 : (long)(s >> 32);
}

void spoolmap_retire(void)
{
	struct spoolmap_window *w = __atomic_load_n(&spoolmap_current,
						    __ATOMIC_ACQUIRE);

	if (w == NULL)
		return;
	spoolmap_close(w);
	__atomic_store_n(&w->fd, -1, __ATOMIC_RELEASE);   /* handoff's now */
	__atomic_store_n(&spoolmap_current, NULL, __ATOMIC_RELEASE);
}

/* Sets *fd to -1 when it lies in first..last. */
static void spoolmap_forget(int *fd, unsigned first, unsigned last)
{
	int mine = __atomic_load_n(fd, __ATOMIC_RELAXED);

	if (mine >= 0 && (unsigned)mine >= first && (unsigned)mine <= last)
		__atomic_compare_exchange_n(fd, &mine, -1, 0, __ATOMIC_ACQ_REL,
					    __ATOMIC_RELAXED);
}

void spoolmap_fds_gone(unsigned first, unsigned last)
{
	unsigned n = __atomic_load_n(&spoolmap_count, __ATOMIC_ACQUIRE);

	for (unsigned i = 0; i < n; i++) {
		spoolmap_forget(&spoolmap_windows[i].fd, first, last);
		spoolmap_forget(&spoolmap_windows[i].event_fd, first, last);
	}
}

void spoolmap_atfork_child(void)
{
	for (unsigned i = 0; i < spoolmap_count; i++) {
		struct spoolmap_window *w = &spoolmap_windows[i];

		munmap(w->base, SPOOLMAP_WINDOW_BYTES);
		if (w->asleep != &spoolmap_no_collector)
			munmap((void *)(uintptr_t)w->asleep, HANDOFF_WAKE_PAGE_BYTES);
		if (w->event_fd >= 0)
			REAL(close)(w->event_fd);
		memset(w, 0, sizeof(*w));
	}
	spoolmap_count = 0;
	spoolmap_current = NULL;
	pthread_mutex_init(&spoolmap_lock, NULL);
}
