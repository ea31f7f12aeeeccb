/*
 * every_call.c - exercises every libc entry point the shim wraps, one step
 * per call, each on its own file under DIR (a PHI patient directory), so
 * the trail has one predictable record per step:
 *
 *   every_call DIR            runs every step, prints one line per step:
 *                             "<step> <expected event or ->"
 *   every_call DIR STEP       runs one step, prints its line
 *
 * Compiled four ways by tests/e2e/four_builds.sh (plain, -D_FORTIFY_SOURCE=2
 * -O2, -D_FILE_OFFSET_BITS=64, both): the same source reaches libc through
 * different symbol names (__read_chk, fopen64, __fprintf_chk, ...), and the
 * trail must be the same for all four. Exits non-zero when a call did not
 * return what libc promises.
 */
#include <aio.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static const char *dir;
static char path_buf[4096];

/*
 * DIR/name, created with content when content is not NULL: with raw system
 * calls, so preparing a step leaves nothing in the trail.
 */
static const char *file(const char *name, const char *content)
{
	snprintf(path_buf, sizeof(path_buf), "%s/%s", dir, name);
	if (content != NULL) {
		long fd = syscall(SYS_openat, AT_FDCWD, path_buf,
				  O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || syscall(SYS_write, fd, content, strlen(content)) < 0)
			exit(90);
		syscall(SYS_close, fd);
	}
	return path_buf;
}

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "every_call: %s:%d: %s\n", __func__, __LINE__, #cond); \
	return 1; } } while (0)

static FILE *stream(const char *name, const char *mode)
{
	FILE *fp = fopen(file(name, "line one\nline two 42\n"), mode);

	if (fp == NULL)
		exit(91);
	return fp;
}

/* ---- stdio reads: one Viewed each ------------------------------------ */

static int step_fread(void)
{
	char b[8];
	FILE *fp = stream("fread.txt", "r");

	CHECK(fread(b, 1, sizeof(b), fp) == sizeof(b));
	return fclose(fp);
}

static int step_fgets(void)
{
	char b[64];
	FILE *fp = stream("fgets.txt", "r");

	CHECK(fgets(b, sizeof(b), fp) != NULL && strcmp(b, "line one\n") == 0);
	return fclose(fp);
}

static int step_getline(void)
{
	char *line = NULL;
	size_t n = 0;
	FILE *fp = stream("getline.txt", "r");

	CHECK(getline(&line, &n, fp) == 9);
	free(line);
	return fclose(fp);
}

static int step_getc(void)
{
	FILE *fp = stream("getc.txt", "r");

	CHECK(getc(fp) == 'l');
	return fclose(fp);
}

static int step_fgetc(void)
{
	FILE *fp = stream("fgetc.txt", "r");

	CHECK(fgetc(fp) == 'l');
	return fclose(fp);
}

static int step_getc_unlocked(void)
{
	FILE *fp = stream("getc_unlocked.txt", "r");

	CHECK(getc_unlocked(fp) == 'l');   /* a macro: __uflow */
	return fclose(fp);
}

static int step_fscanf(void)
{
	char word[16];
	int n = 0;
	FILE *fp = stream("fscanf.txt", "r");

	CHECK(fscanf(fp, "%15s one line two %d", word, &n) == 2 && n == 42);
	return fclose(fp);
}

static int step_read_eof(void)
{
	char b[4];
	FILE *fp = fopen(file("empty.txt", ""), "r");

	CHECK(fp != NULL && fread(b, 1, sizeof(b), fp) == 0 && feof(fp));
	return fclose(fp);
}

static int step_open_no_io(void)
{
	FILE *fp = stream("untouched.txt", "r+");

	return fclose(fp);
}

/* ---- stdio writes: one Modified each --------------------------------- */

static int step_fwrite(void)
{
	FILE *fp = stream("fwrite.txt", "a");

	CHECK(fwrite("x\n", 1, 2, fp) == 2);
	return fclose(fp);
}

static int step_fputs(void)
{
	FILE *fp = stream("fputs.txt", "a");

	CHECK(fputs("x\n", fp) >= 0);
	return fclose(fp);
}

static int step_fprintf(void)
{
	FILE *fp = stream("fprintf.txt", "a");

	CHECK(fprintf(fp, "%d\n", 7) == 2);
	return fclose(fp);
}

static int step_putc(void)
{
	FILE *fp = stream("putc.txt", "r+");

	CHECK(putc('X', fp) == 'X');
	return fclose(fp);
}

static int step_putc_unlocked(void)
{
	FILE *fp = stream("putc_unlocked.txt", "a");

	CHECK(putc_unlocked('X', fp) == 'X');   /* a macro: __overflow */
	return fclose(fp);
}

static int step_dprintf(void)
{
	int fd = open(file("dprintf.txt", "x\n"), O_WRONLY | O_APPEND);

	CHECK(fd >= 0 && dprintf(fd, "%d\n", 7) == 2);
	return close(fd);
}

static int step_fopen_w(void)
{
	FILE *fp = stream("fopen_w.txt", "w");   /* truncated: Modified */

	CHECK(fputs("y\n", fp) >= 0);
	return fclose(fp);
}

static int step_fdopen(void)
{
	char b[4];
	int fd = open(file("fdopen.txt", "abcd"), O_RDONLY);
	FILE *fp = fdopen(fd, "r");

	CHECK(fp != NULL && fread(b, 1, 4, fp) == 4);
	return fclose(fp);
}

/* ---- descriptors ------------------------------------------------------ */

static int step_read(void)
{
	char b[4];
	int fd = open(file("read.txt", "abcd"), O_RDONLY);

	CHECK(fd >= 0 && read(fd, b, sizeof(b)) == 4);
	return close(fd);
}

static int step_pread(void)
{
	char b[4];
	int fd = open(file("pread.txt", "abcd"), O_RDONLY);

	CHECK(fd >= 0 && pread(fd, b, 2, 1) == 2);
	return close(fd);
}

static int step_preadv(void)
{
	char b[4];
	struct iovec v = { b, sizeof(b) };
	int fd = open(file("preadv.txt", "abcd"), O_RDONLY);

	CHECK(fd >= 0 && preadv(fd, &v, 1, 0) == 4);
	return close(fd);
}

static int step_preadv2(void)
{
	char b[4];
	struct iovec v = { b, sizeof(b) };
	int fd = open(file("preadv2.txt", "abcd"), O_RDONLY);

	CHECK(fd >= 0 && preadv2(fd, &v, 1, 0, 0) == 4);
	return close(fd);
}

static int step_pwrite(void)
{
	int fd = open(file("pwrite.txt", "abcd"), O_WRONLY);

	CHECK(fd >= 0 && pwrite(fd, "x", 1, 2) == 1);
	return close(fd);
}

static int step_pwritev2(void)
{
	struct iovec v = { "x", 1 };
	int fd = open(file("pwritev2.txt", "abcd"), O_WRONLY);

	CHECK(fd >= 0 && pwritev2(fd, &v, 1, 0, 0) == 1);
	return close(fd);
}

static int step_dup_read(void)
{
	char b[4];
	int fd = open(file("dup.txt", "abcd"), O_RDONLY);
	int fd2 = dup(fd), fd3 = fcntl(fd, F_DUPFD_CLOEXEC, 100);

	CHECK(fd2 >= 0 && fd3 >= 100 && read(fd2, b, 2) == 2 &&
	      read(fd3, b, 2) == 2);
	close(fd3);
	close(fd2);
	return close(fd);
}

static int step_mmap_read(void)
{
	int fd = open(file("mmap.txt", "abcd"), O_RDONLY);
	char *p = mmap(NULL, 4, PROT_READ, MAP_PRIVATE, fd, 0);

	CHECK(p != MAP_FAILED && p[0] == 'a');
	munmap(p, 4);
	return close(fd);
}

static int step_mmap_shared_write(void)
{
	int fd = open(file("mmap_w.txt", "abcd"), O_RDWR);
	char *p = mmap(NULL, 4, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	CHECK(p != MAP_FAILED);
	p[0] = 'A';
	munmap(p, 4);
	return close(fd);
}

static int step_sendfile(void)
{
	int in = open(file("sendfile.txt", "abcd"), O_RDONLY);
	int out = open("/dev/null", O_WRONLY);

	CHECK(in >= 0 && out >= 0 && sendfile(out, in, NULL, 4) == 4);
	close(out);
	return close(in);
}

static int step_copy_file_range(void)
{
	int in = open(file("cfr.txt", "abcd"), O_RDONLY);
	int out = open("/tmp", O_TMPFILE | O_WRONLY, 0600);

	CHECK(in >= 0 && out >= 0 &&
	      copy_file_range(in, NULL, out, NULL, 4, 0) == 4);
	close(out);
	return close(in);
}

static int step_splice(void)
{
	int pipes[2];
	int in = open(file("splice.txt", "abcd"), O_RDONLY);

	CHECK(in >= 0 && pipe(pipes) == 0 &&
	      splice(in, NULL, pipes[1], NULL, 4, 0) == 4);
	close(pipes[0]);
	close(pipes[1]);
	return close(in);
}

/* ---- paths ------------------------------------------------------------ */

static int step_chmod(void)
{
	CHECK(chmod(file("chmod.txt", "a"), 0600) == 0);
	return 0;
}

static int step_fchmod(void)
{
	int fd = open(file("fchmod.txt", "a"), O_RDONLY);

	CHECK(fd >= 0 && fchmod(fd, 0600) == 0);
	return close(fd);
}

static int step_chown(void)
{
	CHECK(chown(file("chown.txt", "a"), getuid(), getgid()) == 0);
	return 0;
}

static int step_link(void)
{
	char target[4096];

	strcpy(target, file("link_src.txt", "a"));
	CHECK(link(target, file("link_dst.txt", NULL)) == 0);
	return 0;
}

static int step_symlink(void)
{
	CHECK(symlink("nowhere", file("symlink.txt", NULL)) == 0);
	return 0;
}

static int step_opendir(void)
{
	DIR *d;
	struct dirent *e;
	int n = 0;

	mkdir(file("listed", NULL), 0755);
	d = opendir(path_buf);
	CHECK(d != NULL);
	while ((e = readdir(d)) != NULL)
		n++;
	CHECK(n >= 2);
	return closedir(d);
}

static int step_scandir(void)
{
	struct dirent **list;
	int n;

	mkdir(file("scanned", NULL), 0755);
	n = scandir(path_buf, &list, NULL, alphasort);
	CHECK(n >= 2);
	while (n--)
		free(list[n]);
	free(list);
	return 0;
}

static int nftw_count;

static int nftw_visit(const char *p, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	(void)p; (void)st; (void)flag; (void)ftw;
	nftw_count++;
	return 0;
}

static int step_nftw(void)
{
	mkdir(file("walked", NULL), 0755);
	CHECK(nftw(path_buf, nftw_visit, 4, FTW_PHYS) == 0 && nftw_count >= 1);
	return 0;
}

static int step_glob(void)
{
	glob_t g;
	char pattern[4200];

	mkdir(file("globbed", NULL), 0755);
	snprintf(pattern, sizeof(pattern), "%s/*", path_buf);
	file("globbed/a", "a");
	CHECK(glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc == 1);
	globfree(&g);
	return 0;
}

static int step_aio_read(void)
{
	char b[4];
	const struct aiocb *list[1];
	struct aiocb cb = { .aio_buf = b, .aio_nbytes = sizeof(b) };

	cb.aio_fildes = open(file("aio.txt", "abcd"), O_RDONLY);
	CHECK(cb.aio_fildes >= 0 && aio_read(&cb) == 0);
	list[0] = &cb;
	while (aio_error(&cb) == EINPROGRESS)
		aio_suspend(list, 1, NULL);
	CHECK(aio_return(&cb) == 4);
	return close(cb.aio_fildes);
}

static int step_tmpfile_link(void)
{
	char proc[64], target[4200];
	int fd = open(dir, O_TMPFILE | O_WRONLY, 0600);

	CHECK(fd >= 0);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	snprintf(target, sizeof(target), "%s/tmpfile_linked.txt", dir);
	CHECK(linkat(AT_FDCWD, proc, AT_FDCWD, target, AT_SYMLINK_FOLLOW) == 0);
	return close(fd);
}

/* tmpfile() lands in /tmp whatever DIR is: PHI only when /tmp is. */
static int step_tmpfile(void)
{
	char b[8];
	FILE *fp = tmpfile();

	CHECK(fp != NULL && fputs("abc\n", fp) >= 0 && fflush(fp) == 0);
	rewind(fp);
	CHECK(fgets(b, sizeof(b), fp) != NULL);
	return fclose(fp);
}

struct step {
	const char *name;
	int (*run)(void);
	const char *expect;   /* event and file name, for the script */
};

static const struct step steps[] = {
	{ "fread", step_fread, "PHI File Viewed fread.txt" },
	{ "fgets", step_fgets, "PHI File Viewed fgets.txt" },
	{ "getline", step_getline, "PHI File Viewed getline.txt" },
	{ "getc", step_getc, "PHI File Viewed getc.txt" },
	{ "fgetc", step_fgetc, "PHI File Viewed fgetc.txt" },
	{ "getc_unlocked", step_getc_unlocked, "PHI File Viewed getc_unlocked.txt" },
	{ "fscanf", step_fscanf, "PHI File Viewed fscanf.txt" },
	{ "read_eof", step_read_eof, "PHI File Viewed empty.txt" },
	{ "open_no_io", step_open_no_io, "-" },
	{ "fwrite", step_fwrite, "PHI File Modified fwrite.txt" },
	{ "fputs", step_fputs, "PHI File Modified fputs.txt" },
	{ "fprintf", step_fprintf, "PHI File Modified fprintf.txt" },
	{ "putc", step_putc, "PHI File Modified putc.txt" },
	{ "putc_unlocked", step_putc_unlocked, "PHI File Modified putc_unlocked.txt" },
	{ "dprintf", step_dprintf, "PHI File Modified dprintf.txt" },
	{ "fopen_w", step_fopen_w, "PHI File Modified fopen_w.txt" },
	{ "fdopen", step_fdopen, "PHI File Viewed fdopen.txt" },
	{ "read", step_read, "PHI File Viewed read.txt" },
	{ "pread", step_pread, "PHI File Viewed pread.txt" },
	{ "preadv", step_preadv, "PHI File Viewed preadv.txt" },
	{ "preadv2", step_preadv2, "PHI File Viewed preadv2.txt" },
	{ "pwrite", step_pwrite, "PHI File Modified pwrite.txt" },
	{ "pwritev2", step_pwritev2, "PHI File Modified pwritev2.txt" },
	{ "dup_read", step_dup_read, "PHI File Viewed dup.txt" },
	{ "mmap_read", step_mmap_read, "PHI File Viewed mmap.txt" },
	{ "mmap_shared_write", step_mmap_shared_write, "PHI File Modified mmap_w.txt" },
	{ "sendfile", step_sendfile, "PHI File Viewed sendfile.txt" },
	{ "copy_file_range", step_copy_file_range, "PHI File Viewed cfr.txt" },
	{ "splice", step_splice, "PHI File Viewed splice.txt" },
	{ "chmod", step_chmod, "PHI File Permissions Changed chmod.txt" },
	{ "fchmod", step_fchmod, "PHI File Permissions Changed fchmod.txt" },
	{ "chown", step_chown, "PHI File Permissions Changed chown.txt" },
	{ "link", step_link, "PHI File Created link_dst.txt" },
	{ "symlink", step_symlink, "PHI File Created symlink.txt" },
	{ "opendir", step_opendir, "PHI Directory Listed listed" },
	{ "scandir", step_scandir, "PHI Directory Listed scanned" },
	{ "nftw", step_nftw, "PHI Directory Listed walked" },
	{ "glob", step_glob, "PHI Directory Listed globbed" },
	{ "tmpfile_link", step_tmpfile_link, "PHI File Created tmpfile_linked.txt" },
	{ "aio_read", step_aio_read, "PHI File Viewed aio.txt" },
};

/* Run only by name: their records depend on the policy (see run.sh). */
static const struct step extra_steps[] = {
	{ "tmpfile", step_tmpfile, "-" },
};

int main(int argc, char **argv)
{
	int failed = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: every_call DIR [STEP]\n");
		return 2;
	}
	dir = argv[1];
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (argc > 2 && strcmp(argv[2], steps[i].name) != 0)
			continue;
		if (steps[i].run() != 0) {
			fprintf(stderr, "every_call: step %s failed: %s\n",
				steps[i].name, strerror(errno));
			failed = 1;
		}
		printf("%s|%s\n", steps[i].name, steps[i].expect);
	}
	for (size_t i = 0; argc > 2 && i < sizeof(extra_steps) / sizeof(extra_steps[0]); i++) {
		if (strcmp(argv[2], extra_steps[i].name) != 0)
			continue;
		if (extra_steps[i].run() != 0)
			failed = 1;
		printf("%s|%s\n", extra_steps[i].name, extra_steps[i].expect);
	}
	return failed;
}
