/*
 * identity.c - owns what the shim knows about its own process: pid, ppid,
 * uid, start time, executable and host name (login uid and audit session
 * are left to the collector, which never takes them from a record).
 *
 * Read at the process's first record (lazily: a process that never touches
 * PHI never reads /proc) and again in a fork child (only what a fork
 * changes, pid, ppid, uid and start time). Only /proc/self and uname:
 * never NSS (getpwuid) inside a
 * host program; names are resolved by the collector. Reads go through the
 * real functions; this file never allocates.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bsd/string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "real.h"
#include "shim.h"

#define IDENTITY_UNSET_ID 4294967295LL     /* loginuid/sessionid not set */

static struct identity identity;
#define IDENTITY_STALE_ALL 1
#define IDENTITY_STALE_FORK 2      /* only pid, ppid, uid, start time */
static int identity_stale = IDENTITY_STALE_ALL;

/* Reads a small /proc file into buf as a NUL-terminated string. */
static ssize_t identity_read_file(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = REAL(open)(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = REAL(read)(fd, buf, size - 1);
	REAL(close)(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

/* Field 22 of /proc/self/stat, counted after the ')' ending the name. */
static uint64_t identity_start_ticks(void)
{
	char buf[1024];
	char *p;
	int field;

	if (identity_read_file("/proc/self/stat", buf, sizeof(buf)) <= 0)
		return 0;
	p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	for (field = 2; *p != '\0' && field < 22; p++)
		if (*p == ' ')
			field++;
	return strtoull(p, NULL, 10);
}

static void identity_load(void)
{
	struct utsname u;
	ssize_t n;
	int saved_errno = errno;

	identity.pid = getpid();
	identity.ppid = getppid();
	identity.uid = getuid();
	if (__atomic_load_n(&identity_stale, __ATOMIC_ACQUIRE) == IDENTITY_STALE_FORK) {
		/* A fork child: login uid, session, exe and host are the
		 * parent's (the collector checks them from /proc anyway). */
		identity.start_ticks = identity_start_ticks();
		goto done;
	}
	/* Login uid and session are the collector's to read (it replaces
	 * them in every record with what the kernel says, or leaves them
	 * empty): two /proc reads fewer in every process's first record. */
	identity.auid = RECORD_ABSENT;
	identity.session = RECORD_ABSENT;
	identity.start_ticks = identity_start_ticks();
	n = readlink("/proc/self/exe", identity.exe, sizeof(identity.exe) - 1);
	identity.exe[n > 0 ? n : 0] = '\0';
	if (uname(&u) == 0)
		strlcpy(identity.host, u.nodename, sizeof(identity.host));
	else
		identity.host[0] = '\0';
done:
	snprintf(identity.actor, sizeof(identity.actor), "uid:%lld",
		 (long long)(identity.auid != RECORD_ABSENT &&
			     identity.auid != IDENTITY_UNSET_ID ?
			     identity.auid : identity.uid));
	__atomic_store_n(&identity_stale, 0, __ATOMIC_RELEASE);
	errno = saved_errno;
}

const struct identity *identity_get(void)
{
	if (__atomic_load_n(&identity_stale, __ATOMIC_ACQUIRE))
		identity_load();
	return &identity;
}

void identity_atfork_child(void)
{
	if (identity_stale == 0)
		identity_stale = IDENTITY_STALE_FORK;
}
