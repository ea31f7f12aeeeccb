/*
 * store_confine.c - what the store process may do: its user, the files
 * that user must own, and the seccomp allow-list.
 *
 * Owns, in the parent before the fork, the choice of user (the "phitrail"
 * user when root and it exists) and the ownership of what the store
 * process writes (the spool folders, the collector's files in them, the
 * store's directory), as OpenSMTPD gives its queue to its user; writers'
 * files in incoming/ keep their owner, their identity. In the store
 * process: the user, no capability (bounding, ambient too), no_new_privs,
 * then the filter: any other call kills it (SCMP_ACT_KILL_PROCESS), or
 * with PHITRAILD_SECCOMP=trap is logged and fails with EPERM.
 * Must never give away a directory that is not the collector's alone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <bsd/string.h>

#include "handoff.h"
#include "log.h"
#include "store_process.h"

#define STORE_USER "phitrail"

/* Directories never given away, whatever the configuration says. */
static const char *const system_dirs[] = {
	"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/media",
	"/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp",
	"/usr", "/var", "/var/lib", "/var/log", "/var/spool", "/var/tmp", "/var/run",
};

static int give(int dirfd, const char *name, uid_t uid, gid_t gid)
{
	if (fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOENT) {
		daemon_error("cannot give %s to user %s: %s", name, STORE_USER,
			     strerror(errno));
		return -errno;
	}
	return 0;
}

/* dir and the regular files directly in it. */
static int give_dir_files(const char *dir, uid_t uid, gid_t gid)
{
	struct dirent *e;
	DIR *d;
	int rc = give(AT_FDCWD, dir, uid, gid);

	d = rc == 0 ? opendir(dir) : NULL;
	if (d == NULL)
		return rc < 0 ? rc : -errno;
	while (rc == 0 && (e = readdir(d)) != NULL)
		if (e->d_type == DT_REG)
			rc = give(dirfd(d), e->d_name, uid, gid);
	closedir(d);
	return rc;
}

/* The store's directory (real path into real): 0 when it is plainly the
 * collector's, to give to uid (not a system directory; uid's already, or
 * root's and writable by root alone), else -EPERM or -errno. */
static int store_dir_ours(const char *database, uid_t uid, char real[PATH_MAX])
{
	char dir[PATH_MAX], *slash;
	struct stat st;
	size_t i;

	strlcpy(dir, database, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash == NULL)
		strlcpy(dir, ".", sizeof(dir));
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (realpath(dir, real) == NULL || stat(real, &st) < 0)
		return -errno;
	for (i = 0; i < sizeof(system_dirs) / sizeof(system_dirs[0]); i++)
		if (strcmp(real, system_dirs[i]) == 0)
			return -EPERM;
	if (st.st_uid != uid && (st.st_uid != 0 || (st.st_mode & 022)))
		return -EPERM;
	return 0;
}

/* The spool folders, the collector's files in them and, when it is the
 * collector's own, the store's directory with its database files. */
static int give_all(const struct config *cfg, uid_t uid, gid_t gid)
{
	static const char *const dirs[] = { "", "/" SPOOL_DIR_ACTIVE, "/quarantine" };
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char path[PATH_MAX + 16], real[PATH_MAX];
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", cfg->spool, dirs[i]);
		rc = give_dir_files(path, uid, gid);
	}
	snprintf(path, sizeof(path), "%s/" SPOOL_DIR_INCOMING, cfg->spool);
	if (rc == 0)
		rc = give(AT_FDCWD, path, uid, gid);
	if (rc < 0 || store_dir_ours(cfg->database, uid, real) < 0)
		return rc;
	rc = give(AT_FDCWD, real, uid, gid);
	for (i = 0; rc == 0 && i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", cfg->database, suffixes[i]);
		rc = give(AT_FDCWD, path, uid, gid);
	}
	return rc;
}

int store_confine_prepare(const struct config *cfg, struct store_user *u)
{
	char real[PATH_MAX];
	struct passwd *pw;

	u->change = 0;
	if (geteuid() != 0)
		return 0;                  /* as under the unit: no user to change */
	pw = getpwnam(STORE_USER);
	if (pw == NULL)
		daemon_warn("no user %s: the store process keeps uid 0 (without any "
			    "capability)", STORE_USER);
	else if (store_dir_ours(cfg->database, pw->pw_uid, real) < 0)
		daemon_warn("the store's directory of %s is not the collector's own (a "
			    "system directory, or writable by others): the store "
			    "process keeps uid 0 (without any capability); give the "
			    "store a directory of its own", cfg->database);
	else
		u->change = 1;
	u->uid = u->change ? pw->pw_uid : 0;
	u->gid = u->change ? pw->pw_gid : 0;
	/* Root's, when it stays root: an earlier start may have given them. */
	if (give_all(cfg, u->uid, u->gid) < 0 && u->change) {
		u->change = 0;
		u->uid = u->gid = 0;
		(void)give_all(cfg, 0, 0);
	}
	return 0;
}

/* ---- in the store process ---- */

static int drop_privileges(const struct store_user *u)
{
	struct __user_cap_header_struct head = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	int cap;

	/* The bounding set needs CAP_SETPCAP: as root, not under the unit. */
	for (cap = 0; cap <= CAP_LAST_CAP; cap++)
		(void)prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
	if (u->change && (setgroups(0, NULL) < 0 || setresgid(u->gid, u->gid, u->gid) < 0 ||
			  setresuid(u->uid, u->uid, u->uid) < 0)) {
		daemon_error("store process: cannot become user %s: %s", STORE_USER,
			     strerror(errno));
		return -EPERM;
	}
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &head, data) < 0) {
		daemon_error("store process: cannot drop its capabilities: %s",
			     strerror(errno));
		return -EPERM;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		daemon_error("store process: prctl: %s", strerror(errno));
		return -EPERM;
	}
	/* A change of user clears the parent-death signal: set it again, so
	 * that a killed parent is one crash, never a store process still
	 * committing beside the next collector; then make sure the parent did
	 * not die in between. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != u->parent) {
		daemon_error("store process: the parent process is gone");
		return -ESRCH;
	}
	return 0;
}

static void on_sigsys(int sig, siginfo_t *si, void *context)
{
	char line[64];
	int n;

	(void)sig;
	n = snprintf(line, sizeof(line), "phitraild store: seccomp denied call %d\n",
		     si->si_syscall);
	if (write(2, line, (size_t)n) < 0) {
		/* nothing more to say */
	}
#ifdef __x86_64__
	((ucontext_t *)context)->uc_mcontext.gregs[REG_RAX] = -EPERM;
#else
	(void)context;
#endif
}

/* What following, SQLite, the query socket, the forwarders' threads and
 * TLS, inotify, fanotify and the epoll loop call; nothing that execs,
 * changes identity, mounts, traces or loads modules. */
static const int store_calls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev),
	SCMP_SYS(lseek), SCMP_SYS(close), SCMP_SYS(close_range), SCMP_SYS(open),
	SCMP_SYS(openat), SCMP_SYS(stat), SCMP_SYS(fstat), SCMP_SYS(lstat),
	SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(fstatfs), SCMP_SYS(statfs),
	SCMP_SYS(readlink), SCMP_SYS(readlinkat), SCMP_SYS(getdents64),
	SCMP_SYS(fcntl), SCMP_SYS(flock), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
	SCMP_SYS(ftruncate), SCMP_SYS(fallocate), SCMP_SYS(fadvise64),
	SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(rename), SCMP_SYS(renameat),
	SCMP_SYS(renameat2), SCMP_SYS(mkdir), SCMP_SYS(mkdirat), SCMP_SYS(rmdir),
	SCMP_SYS(link), SCMP_SYS(linkat), SCMP_SYS(fchmod), SCMP_SYS(fchmodat),
	SCMP_SYS(fchown),                /* SQLite, as root: its journal as its store */
	SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(getcwd),
	SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3), SCMP_SYS(pipe2),
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(mprotect),
	SCMP_SYS(madvise), SCMP_SYS(brk), SCMP_SYS(mincore),
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(select), SCMP_SYS(pselect6),
	SCMP_SYS(inotify_init1), SCMP_SYS(inotify_add_watch), SCMP_SYS(inotify_rm_watch),
	SCMP_SYS(fanotify_mark), SCMP_SYS(name_to_handle_at), SCMP_SYS(open_by_handle_at),
	SCMP_SYS(socket), SCMP_SYS(connect), SCMP_SYS(accept), SCMP_SYS(accept4),
	SCMP_SYS(bind), SCMP_SYS(listen), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(sendto),
	SCMP_SYS(recvfrom), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendmmsg),
	SCMP_SYS(recvmmsg), SCMP_SYS(shutdown), SCMP_SYS(socketpair),
	SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime),
	SCMP_SYS(signalfd4), SCMP_SYS(eventfd2),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getppid), SCMP_SYS(getuid),
	SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(getgroups),
	SCMP_SYS(getresuid), SCMP_SYS(getresgid), SCMP_SYS(getrandom), SCMP_SYS(uname),
	SCMP_SYS(sysinfo), SCMP_SYS(getrusage), SCMP_SYS(prlimit64), SCMP_SYS(getrlimit),
	SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity), SCMP_SYS(getpriority),
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(get_robust_list),
	SCMP_SYS(rseq), SCMP_SYS(set_tid_address), SCMP_SYS(clone), SCMP_SYS(clone3),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(rt_sigaction),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack),
	SCMP_SYS(kill), SCMP_SYS(tgkill), SCMP_SYS(tkill), SCMP_SYS(prctl),
	SCMP_SYS(restart_syscall), SCMP_SYS(membarrier), SCMP_SYS(pidfd_open),
};

static int load_filter(void)
{
	static const unsigned long ioctls[] = { FIONREAD, SIOCOUTQ, TCGETS, FIONBIO };
	const char *mode = getenv("PHITRAILD_SECCOMP");
	int trap = mode != NULL && strcmp(mode, "trap") == 0;
	scmp_filter_ctx ctx = seccomp_init(trap ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS);
	size_t i;
	int rc = ctx == NULL ? -ENOMEM : 0;

	if (trap) {
		struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };

		sigaction(SIGSYS, &sa, NULL);
	}
	/* every thread (there should be none yet: the forwarders start after) */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	for (i = 0; rc == 0 && i < sizeof(store_calls) / sizeof(store_calls[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, store_calls[i], 0);
	/* ioctl only to ask how much a socket holds or has still to send,
	 * whether fd 2 is a tty, or to make a descriptor non-blocking */
	for (i = 0; rc == 0 && i < sizeof(ioctls) / sizeof(ioctls[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				      SCMP_A1(SCMP_CMP_EQ, ioctls[i]));
	if (rc == 0)
		rc = seccomp_load(ctx);
	if (rc < 0)
		daemon_error("store process: cannot load its seccomp filter: %s",
			     strerror(-rc));
	/* Not released: free() after the filter is loaded may need munmap. */
	return rc;
}

int store_confine(const struct config *cfg, const struct store_user *u)
{
	int rc;

	/* What the start made as root (the WAL, phi-inodes) is the user's too. */
	if (u->change && give_all(cfg, u->uid, u->gid) < 0)
		return -EPERM;
	rc = drop_privileges(u);

	if (rc == 0)
		rc = load_filter();
	return rc;
}
