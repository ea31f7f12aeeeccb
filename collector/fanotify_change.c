/*
 * fanotify_change.c - the kernel safety net's second group: changes to the
 * names and attributes of PHI files that no shim record covers (a static
 * rm, a raw unlinkat, renameat2 or fchmodat, an O_CREAT openat by
 * syscall(2)).
 *
 * Owns a fanotify group that reports directory handles and names
 * (FAN_REPORT_DFID_NAME, kernel 5.9; FAN_RENAME, 5.17) with marks on the
 * same directories as the access group (fanotify.c marks both). FAN_CREATE
 * becomes a Created, FAN_DELETE a Deleted, FAN_RENAME a Renamed (path and
 * path2; the kernel names only a marked directory's side, so a file moved
 * in from elsewhere has no old path, one moved out no new one), FAN_ATTRIB a Permissions Changed when the mode, owner or group
 * differ from what was last seen of that inode (an attribute change that
 * only sets times is not one); an inode never seen counts as changed. A
 * new directory is marked at once. The directory handle is opened
 * (open_by_handle_at, CAP_DAC_READ_SEARCH) against a descriptor kept per
 * file system and named through /proc/self/fd. The events then go the way
 * of the access group's (safetynet_queue).
 * Must never block the loop (non-blocking, at most CHANGE_MAX_PASS events
 * a wake), and keeps bounded memory: the kernel's queue is bounded
 * (overflow: Audit Records Lost), the inode table has fixed slots.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bsd/string.h>

#include "broker.h"
#include "fanotify_event.h"
#include "fanotify_net.h"
#include "log.h"
#include "loop.h"

#define CHANGE_MAX_PASS 4096
#define CHANGE_MAX_FS 16              /* file systems under the rule roots */
#define CHANGE_INODE_SLOTS 32768      /* power of two; 384 KiB */
#define CHANGE_MASK (FAN_CREATE | FAN_DELETE | FAN_RENAME | FAN_ATTRIB | \
		     FAN_ONDIR | FAN_EVENT_ON_CHILD)

/* What was last seen of an inode: (dev, inode) and (mode, uid, gid). */
struct inode_seen {
	uint64_t key[CHANGE_INODE_SLOTS];
	uint32_t attrs[CHANGE_INODE_SLOTS];
};

static struct {
	struct loop_watch watch;
	struct { uint64_t fsid; int fd; } fs[CHANGE_MAX_FS];
	unsigned fs_count;
	struct inode_seen *inodes;
	int warned;                      /* a folder it could not mark, said */
	char state[128];
} C = { .watch = { .fd = -1 } };

static uint64_t inode_key(const struct stat *st)
{
	return ((uint64_t)st->st_dev * 1099511628211ull ^ (uint64_t)st->st_ino) | 1;
}

static uint32_t inode_attrs(const struct stat *st)
{
	uint32_t h = 2166136261u;

	h = (h ^ (uint32_t)(st->st_mode & 07777)) * 16777619u;
	h = (h ^ (uint32_t)st->st_uid) * 16777619u;
	return (h ^ (uint32_t)st->st_gid) * 16777619u;
}

/* Remembers st's attributes; 1 when they differ from what was seen (or
 * nothing was), 0 when the same. */
static int inode_changed(const struct stat *st)
{
	uint64_t key = inode_key(st);
	unsigned i = (unsigned)key & (CHANGE_INODE_SLOTS - 1);
	int changed = C.inodes->key[i] != key ||
		C.inodes->attrs[i] != inode_attrs(st);

	C.inodes->key[i] = key;          /* a collision forgets the older one */
	C.inodes->attrs[i] = inode_attrs(st);
	return changed;
}

void change_note_file(int dir_fd, const char *name)
{
	struct stat st;

	if (C.inodes != NULL &&
	    fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode))
		(void)inode_changed(&st);
}

/* A descriptor on the file system fsid, kept from the marking walk. */
static int fs_fd(uint64_t fsid)
{
	for (unsigned i = 0; i < C.fs_count; i++)
		if (C.fs[i].fsid == fsid)
			return C.fs[i].fd;
	return -1;
}

void change_mark_dir(const char *dir, int dir_fd)
{
	struct statfs sfs;
	uint64_t fsid;
	int fd;

	if (C.watch.fd < 0)
		return;
	if (fanotify_mark(C.watch.fd, FAN_MARK_ADD | FAN_MARK_ONLYDIR,
			  CHANGE_MASK, AT_FDCWD, dir) < 0) {
		/* e.g. a file system without file handles (EOPNOTSUPP) */
		if (!C.warned)
			daemon_warn("kernel safety net: changes under %s are not "
				    "seen (fanotify with names: %s); reads and "
				    "writes are", dir, strerror(errno));
		C.warned = 1;
		return;
	}
	if (fstatfs(dir_fd, &sfs) < 0)
		return;
	memcpy(&fsid, &sfs.f_fsid, sizeof(fsid));
	if (fs_fd(fsid) >= 0 || C.fs_count == CHANGE_MAX_FS)
		return;
	/* not O_PATH: open_by_handle_at refuses such a mount_fd (EBADF) */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	C.fs[C.fs_count].fsid = fsid;
	C.fs[C.fs_count++].fd = fd;
}

/* The real path of d's directory and name into out: 0 or -1. */
static int change_path(const struct fan_dir_name *d, char *out, size_t cap)
{
	struct {
		struct file_handle fh;
		unsigned char bytes[FAN_HANDLE_MAX];
	} h;
	char link[32], dir[PATH_MAX];
	int fd, mount_fd = fs_fd(d->fsid);
	ssize_t n;

	if (!d->present || mount_fd < 0)
		return -1;
	h.fh.handle_bytes = d->handle_bytes;
	h.fh.handle_type = d->handle_type;
	memcpy(h.fh.f_handle, d->handle, d->handle_bytes);
	fd = open_by_handle_at(mount_fd, &h.fh, O_PATH | O_CLOEXEC);
	if (fd < 0 && errno == EPERM)      /* the store process: the parent may */
		fd = broker_resolve(mount_fd, &h.fh);
	if (fd < 0)
		return -1;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, dir, sizeof(dir) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	dir[n] = '\0';
	if (strcmp(d->name, ".") == 0)
		return strlcpy(out, dir, cap) < cap ? 0 : -1;
	return (size_t)snprintf(out, cap, "%s/%s", dir, d->name) < cap ? 0 : -1;
}

/* A permissions change unless only times changed: 1 or 0. */
static int attributes_changed(const char *path, char *mode, size_t cap)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		strlcpy(mode, "unknown", cap);   /* gone already: say so */
		return 1;
	}
	snprintf(mode, cap, "%04o", (unsigned)(st.st_mode & 07777));
	return inode_changed(&st);
}

/* One event on a file or directory. */
static void change_event(const struct fan_change_event *e)
{
	char path[PATH_MAX], path2[PATH_MAX], mode[16];
	struct fan_report r = { .pid = e->pid, .path = path };

	if (e->mask & FAN_ONDIR) {       /* a new folder: marked now */
		if ((e->mask & FAN_CREATE) && change_path(&e->where, path, sizeof(path)) == 0)
			safetynet_mark_tree(path);
		if ((e->mask & FAN_RENAME) && change_path(&e->to, path, sizeof(path)) == 0)
			safetynet_mark_tree(path);
		return;
	}
	if (e->mask & FAN_RENAME) {
		/* The kernel names only the side(s) whose directory is marked:
		 * moved in from elsewhere, the old path is unknown (""). */
		int old_known = change_path(&e->from, path, sizeof(path)) == 0;
		int new_known = change_path(&e->to, path2, sizeof(path2)) == 0;

		if (!old_known)
			path[0] = '\0';
		r.type = EVENT_FILE_RENAMED;
		r.path2 = new_known ? path2 : NULL;
		if (old_known || new_known)
			safetynet_queue(&r);
		r.path2 = NULL;
		if (new_known)               /* a file moved in: known from now */
			(void)attributes_changed(path2, mode, sizeof(mode));
	}
	if (change_path(&e->where, path, sizeof(path)) < 0)
		return;
	if (e->mask & FAN_CREATE) {      /* with the mode it has now */
		(void)attributes_changed(path, mode, sizeof(mode));
		r.type = EVENT_FILE_CREATED;
		r.mode = mode;
		safetynet_queue(&r);
		r.mode = NULL;
	}
	if ((e->mask & FAN_ATTRIB) && attributes_changed(path, mode, sizeof(mode))) {
		r.type = EVENT_FILE_PERMISSIONS_CHANGED;
		r.mode = mode;
		safetynet_queue(&r);
		r.mode = NULL;
	}
	if (e->mask & FAN_DELETE) {
		r.type = EVENT_FILE_DELETED;
		safetynet_queue(&r);
	}
}

static void change_on_readable(struct loop_watch *w, uint32_t events)
{
	char buf[16384] __attribute__((aligned(8)));
	struct fan_change_event e;
	unsigned handled = 0;
	ssize_t len;
	long step;

	(void)events;
	while (handled < CHANGE_MAX_PASS &&
	       (len = read(w->fd, buf, sizeof(buf))) > 0) {
		for (size_t at = 0; at < (size_t)len; at += (size_t)step) {
			step = fan_change_parse(buf + at, (size_t)len - at, &e);
			if (step < 0) {
				daemon_warn("kernel safety net: a malformed change "
					    "event; the rest of the read is skipped");
				break;
			}
			handled++;
			safetynet_count_event();
			if (e.mask & FAN_Q_OVERFLOW)
				safetynet_lost("the kernel's change queue overflowed: "
					       "changes made without the shim may "
					       "be missing");
			else if (e.pid != getpid())
				change_event(&e);
		}
	}
}

int change_start(void)
{
	C.watch.fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK |
				   FAN_UNLIMITED_MARKS | FAN_REPORT_DFID_NAME,
				   O_RDONLY | O_CLOEXEC);
	if (C.watch.fd < 0) {
		snprintf(C.state, sizeof(C.state), "changes not seen (fanotify "
			 "with names: %s)", strerror(errno));
		return -errno;
	}
	C.inodes = calloc(1, sizeof(*C.inodes));
	C.watch.handler = change_on_readable;
	if (C.inodes == NULL || loop_add(&C.watch, EPOLLIN) < 0) {
		change_stop();
		strlcpy(C.state, "changes not seen (out of memory or epoll)",
			sizeof(C.state));
		return -ENOMEM;
	}
	strlcpy(C.state, "created, deleted, renamed, permissions", sizeof(C.state));
	return 0;
}

const char *change_state(void)
{
	return C.state;
}

void change_stop(void)
{
	if (C.watch.fd >= 0) {
		if (C.inodes != NULL)
			change_on_readable(&C.watch, 0);
		loop_remove(&C.watch);
		close(C.watch.fd);
	}
	C.watch.fd = -1;
	for (unsigned i = 0; i < C.fs_count; i++)
		close(C.fs[i].fd);
	C.fs_count = 0;
	free(C.inodes);
	C.inodes = NULL;
}
