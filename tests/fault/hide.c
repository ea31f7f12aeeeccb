/*
 * hide.c - a program that tries to read a chart without its read being
 * audited, for tests/fault/hide_read.sh. Usage: hide MODE WARMUP CHART [N].
 * It reads WARMUP N times (default 1; so the shim has its spool file and
 * descriptors: the file the process claimed and mapped itself, or from
 * its 64th record the collector's mapped file, shim/handoff.c), then
 * attacks the shim's means of recording with MODE, then reads CHART:
 *   dup2          /dev/null dup2'ed over every descriptor of the shim
 *                 (spool file, eventfd, wake page)
 *   munmap        the mapped spool file unmapped
 *   mprotect      the mapped spool file made read-only
 *   munmapjmp     as munmap, with a SIGSEGV handler that jumps back out
 *                 of the shim; then the chart is read until it works
 *   nofile        every descriptor from 3 closed (close_range), then
 *                 RLIMIT_NOFILE 4: room for the chart and nothing else
 *   fsize         RLIMIT_FSIZE 0, SIGXFSZ ignored
 *   seccomp       a filter failing write, writev, pwrite64, sendmsg,
 *                 sendto, connect, socket, fallocate, ftruncate with EPERM
 *   closeseccomp  close_range as in nofile, then the seccomp filter
 * Exits 0 when the CHART read returned its bytes (the access happened),
 * 3 when it did not, 2 on a setup error (reported on stderr before the
 * attack; nothing is written after it, since the attack may fail writes).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <dirent.h>
#include <unistd.h>

static int read_file(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n > 0 ? 0 : -1;
}

/* The shim's descriptors: spool files, the eventfd, the wake page. */
static int shim_fds(int *fds, int max)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && n < max) {
		char link[64], target[4096];
		ssize_t len;
		int fd = atoi(e->d_name);

		if (fd < 3 || fd == dirfd(d))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		if (strstr(target, "/spool/") || strstr(target, "eventfd") ||
		    strstr(target, "memfd:") || strstr(target, "socket:"))
			fds[n++] = fd;
	}
	closedir(d);
	return n;
}

/* Applies fn to every mapping of a spool file. Returns how many. */
static int each_spool_mapping(int (*fn)(void *, size_t))
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[4096];
	int n = 0;

	if (maps == NULL)
		return 0;
	while (fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi;

		if (strstr(line, "/spool/") == NULL ||
		    sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		if (fn((void *)lo, hi - lo) == 0)
			n++;
	}
	fclose(maps);
	return n;
}

static int do_munmap(void *p, size_t len) { return munmap(p, len); }

static sigjmp_buf hide_jump;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(hide_jump, 1);
}

/* Reads path, jumping back out of a fault inside the read (up to 3 tries). */
static int read_past_faults(const char *path)
{
	static volatile int tries;

	signal(SIGSEGV, on_segv);
	(void)sigsetjmp(hide_jump, 1);
	if (tries++ >= 3)
		return -1;
	return read_file(path);
}
static int do_mprotect(void *p, size_t len) { return mprotect(p, len, PROT_READ); }

static int install_seccomp(void)
{
#if defined(__x86_64__)
	static const int denied[] = { SYS_write, SYS_writev, SYS_pwrite64, SYS_sendmsg,
				      SYS_sendto, SYS_connect, SYS_socket, SYS_fallocate,
				      SYS_ftruncate };
	struct sock_filter f[4 + 2 * 9 + 1];
	struct sock_fprog prog = { .filter = f };
	size_t i, k = 0;

	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch));
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, nr));
	for (i = 0; i < 9; i++) {
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						      (unsigned)denied[i], 0, 1);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
						      SECCOMP_RET_ERRNO | EPERM);
	}
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	prog.len = (unsigned short)k;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
#else
	errno = ENOSYS;
	return -1;
#endif
}

int main(int argc, char **argv)
{
	const char *mode;
	int fds[64], n, i;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: hide MODE WARMUP CHART [N]\n");
		return 2;
	}
	mode = argv[1];
	n = argc == 5 ? atoi(argv[4]) : 1;
	for (i = 0; i < n; i++) {
		if (read_file(argv[2]) < 0) {
			perror(argv[2]);
			return 2;
		}
	}
	if (strcmp(mode, "dup2") == 0) {
		int null = open("/dev/null", O_RDWR);

		n = shim_fds(fds, 64);
		if (null < 0 || n == 0) {
			fprintf(stderr, "hide: no descriptor of the shim found\n");
			return 2;
		}
		for (i = 0; i < n; i++)
			(void)dup2(null, fds[i]);
		close(null);
	} else if (strcmp(mode, "munmap") == 0 || strcmp(mode, "mprotect") == 0) {
		if (each_spool_mapping(mode[1] == 'u' ? do_munmap : do_mprotect) == 0) {
			fprintf(stderr, "hide: no mapped spool file found\n");
			return 2;
		}
	} else if (strcmp(mode, "munmapjmp") == 0) {
		if (each_spool_mapping(do_munmap) == 0) {
			fprintf(stderr, "hide: no mapped spool file found\n");
			return 2;
		}
		return read_past_faults(argv[3]) == 0 ? 0 : 3;
	} else if (strcmp(mode, "nofile") == 0) {
		struct rlimit rl = { 4, 4 };

		if (syscall(SYS_close_range, 3U, ~0U, 0) < 0 ||
		    setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			perror("hide: nofile");
			return 2;
		}
	} else if (strcmp(mode, "fsize") == 0) {
		struct rlimit rl = { 0, 0 };

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0) {
			perror("hide: fsize");
			return 2;
		}
	} else if (strcmp(mode, "seccomp") == 0 || strcmp(mode, "closeseccomp") == 0) {
		if (mode[0] == 'c' && syscall(SYS_close_range, 3U, ~0U, 0) < 0) {
			perror("hide: close_range");
			return 2;
		}
		if (install_seccomp() < 0) {
			perror("hide: seccomp");
			return 2;
		}
	} else {
		fprintf(stderr, "hide: unknown mode %s\n", mode);
		return 2;
	}
	return read_file(argv[3]) == 0 ? 0 : 3;
}
