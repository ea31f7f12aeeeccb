/*
 * run.c - the "run" verb: start a program with the shim preloaded.
 *
 * Finds libphitrail.so ($PHITRAIL_LIB; else beside the phitrail executable,
 * in its parent directory, or in ../lib of it; else the install
 * directory), puts it first in LD_PRELOAD (keeping what was there), sets
 * PHITRAIL_CONFIG to the absolute path of --config when one is given, and
 * replaces itself with the program (execvp), so the program's exit status
 * and signals are its own. Warns when the program is a statically linked
 * ELF (no PT_INTERP): the dynamic loader never runs, so nothing can be
 * audited.
 *
 * Must never: fork, wait, or stay between the program and its caller;
 * refuse to run the program over a warning; or judge the configuration
 * (a broken one still runs the program, silently: "policy check" says why).
 */
#include <elf.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include "cli.h"

#define SHIM_NAME "libphitrail.so"
#define EXIT_CANNOT_EXECUTE 126         /* as env(1) and the shells */
#define EXIT_NOT_FOUND 127

#ifndef PHITRAIL_LIBDIR
#define PHITRAIL_LIBDIR "/usr/local/lib"
#endif

/* Where the shim is looked for, relative to the phitrail executable's directory. */
static const char *const shim_places[] = {
	"/" SHIM_NAME,
	"/../" SHIM_NAME,
	"/../lib/" SHIM_NAME,
};

static void
run_usage(FILE *stream)
{
	fprintf(stream, "usage: phitrail run [--config FILE] [--] CMD [ARGS...]\n\n"
		"Runs CMD with libphitrail.so preloaded, so that its accesses to "
		"PHI are\naudited. CMD's exit status and signals are its own.\n\n"
		"  --config FILE   the policy to audit by (sets PHITRAIL_CONFIG); "
		"default\n"
		"                  $PHITRAIL_CONFIG or " CONFIG_DEFAULT_PATH "\n\n"
		"The shim is $PHITRAIL_LIB, else " SHIM_NAME " beside phitrail, in "
		"its parent\ndirectory or in ../lib, else " PHITRAIL_LIBDIR "/"
		SHIM_NAME ".\n");
}

static int
readable_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		access(path, R_OK) == 0;
}

/* Finds the shim; writes its absolute path. 0 or -ENOENT after a message. */
static int
find_shim(char *out, size_t out_size)
{
	const char *explicit_path = getenv("PHITRAIL_LIB");
	char self[PATH_MAX], candidate[PATH_MAX];
	ssize_t n;

	if (explicit_path && *explicit_path) {
		if (!readable_file(explicit_path) ||
		    realpath(explicit_path, candidate) == NULL) {
			warnx("PHITRAIL_LIB=%s is not a readable file (unset it "
			      "to use the installed shim)", explicit_path);
			return -ENOENT;
		}
		strlcpy(out, candidate, out_size);
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		char *slash;
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash)
			*slash = '\0';
		for (size_t i = 0; i < sizeof(shim_places) / sizeof(shim_places[0]); i++) {
			if ((size_t)snprintf(candidate, sizeof(candidate), "%s%s",
					     self, shim_places[i]) >= sizeof(candidate))
				continue;
			if (readable_file(candidate) &&
			    realpath(candidate, out) != NULL)
				return 0;
		}
	}
	if (readable_file(PHITRAIL_LIBDIR "/" SHIM_NAME)) {
		strlcpy(out, PHITRAIL_LIBDIR "/" SHIM_NAME, out_size);
		return 0;
	}
	warnx("cannot find " SHIM_NAME " beside %s or in " PHITRAIL_LIBDIR
	      " (install phitrail, or set PHITRAIL_LIB to the library's path)",
	      n > 0 ? self : "the phitrail executable");
	return -ENOENT;
}

/* LD_PRELOAD with the shim first, unless it is there already. */
static int
prepend_preload(const char *shim)
{
	const char *old = getenv("LD_PRELOAD");
	char *value = NULL;
	int rc;

	/* ld.so splits LD_PRELOAD at ':' and ' ': such a path cannot be listed. */
	if (strpbrk(shim, ": \t") != NULL) {
		warnx("the shim's path %s holds a ':' or a space, which "
		      "LD_PRELOAD cannot carry; move it or set PHITRAIL_LIB",
		      shim);
		return -EINVAL;
	}
	if (old && *old) {
		char *copy = strdup(old), *cursor = copy, *item;
		if (copy == NULL)
			return -ENOMEM;
		while ((item = strsep(&cursor, ": \t")) != NULL)
			if (strcmp(item, shim) == 0)
				break;
		free(copy);
		if (item != NULL)
			return 0;
		if (asprintf(&value, "%s:%s", shim, old) < 0)
			return -ENOMEM;
	} else if ((value = strdup(shim)) == NULL) {
		return -ENOMEM;
	}
	rc = setenv("LD_PRELOAD", value, 1) == 0 ? 0 : -errno;
	free(value);
	return rc;
}

/* Finds cmd as execvp will: PATH when it has no '/'. 0 or -ENOENT. */
static int
resolve_command(const char *cmd, char *out, size_t out_size)
{
	const char *path = getenv("PATH");
	char *copy, *cursor, *dir;
	int rc = -ENOENT;

	if (strchr(cmd, '/')) {
		strlcpy(out, cmd, out_size);
		return 0;
	}
	copy = strdup(path ? path : "/bin:/usr/bin");
	if (copy == NULL)
		return -ENOMEM;
	cursor = copy;
	while ((dir = strsep(&cursor, ":")) != NULL) {
		if ((size_t)snprintf(out, out_size, "%s/%s", *dir ? dir : ".",
				     cmd) >= out_size)
			continue;
		if (access(out, X_OK) == 0) {
			rc = 0;
			break;
		}
	}
	free(copy);
	return rc;
}

/*
 * 1 when path is an ELF executable without PT_INTERP (statically linked),
 * 0 when it has one or is not ELF (a script, for one), -errno when it
 * cannot be read.
 */
static int
elf_is_static(const char *path)
{
	unsigned char ident[EI_NIDENT];
	int fd, rc = 0;
	uint16_t type, count, entry_size;
	uint64_t offset;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pread(fd, ident, sizeof(ident), 0) != (ssize_t)sizeof(ident) ||
	    memcmp(ident, ELFMAG, SELFMAG) != 0)
		goto out;
	if (ident[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr header;
		if (pread(fd, &header, sizeof(header), 0) != (ssize_t)sizeof(header))
			goto out;
		type = header.e_type;
		offset = header.e_phoff;
		count = header.e_phnum;
		entry_size = header.e_phentsize;
		if (entry_size < sizeof(Elf64_Phdr))
			goto out;
	} else if (ident[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr header;
		if (pread(fd, &header, sizeof(header), 0) != (ssize_t)sizeof(header))
			goto out;
		type = header.e_type;
		offset = header.e_phoff;
		count = header.e_phnum;
		entry_size = header.e_phentsize;
		if (entry_size < sizeof(Elf32_Phdr))
			goto out;
	} else {
		goto out;
	}
	/* Only a byte order this machine reads natively is inspected. */
	if ((ident[EI_DATA] == ELFDATA2LSB) !=
	    (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__))
		goto out;
	if (type != ET_EXEC && type != ET_DYN)
		goto out;
	rc = 1;
	for (uint16_t i = 0; i < count; i++) {
		uint32_t segment_type;
		if (pread(fd, &segment_type, sizeof(segment_type),
			  (off_t)(offset + (uint64_t)i * entry_size)) !=
		    (ssize_t)sizeof(segment_type)) {
			rc = 0;                 /* cut short: do not guess */
			break;
		}
		if (segment_type == PT_INTERP) {
			rc = 0;
			break;
		}
	}
out:
	close(fd);
	return rc;
}

static void
warn_if_unauditable(const char *cmd)
{
	char path[PATH_MAX];
	struct stat st;

	if (resolve_command(cmd, path, sizeof(path)) < 0)
		return;                         /* execvp will say so */
	if (elf_is_static(path) == 1)
		warnx("warning: %s is statically linked: the shim cannot be "
		      "loaded into it, so its accesses will not be audited",
		      path);
	if (stat(path, &st) == 0 &&
	    (((st.st_mode & S_ISUID) && st.st_uid != geteuid()) ||
	     ((st.st_mode & S_ISGID) && st.st_gid != getegid())))
		warnx("warning: %s is set-user-ID or set-group-ID: the loader "
		      "ignores LD_PRELOAD for it, so its accesses will not be "
		      "audited", path);
}

/*
 * PHITRAIL_CONFIG := the absolute path of the given file. Its contents are
 * not judged here: a program started with a broken configuration runs
 * untouched and the errors reach the collector's log and "policy check".
 */
static int
set_config(const char *config_path)
{
	char absolute[PATH_MAX];
	int rc;

	if (realpath(config_path, absolute) == NULL) {
		rc = -errno;
		warn("cannot use the configuration %s", config_path);
		return rc;
	}
	if (setenv(CONFIG_ENV, absolute, 1) < 0)
		return -errno;
	return 0;
}

int
cli_run_main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL;
	char shim[PATH_MAX];
	int option;

	optind = 0;
	opterr = 0;
	/* '+': options stop at CMD, so CMD's own options are left alone. */
	while ((option = getopt_long(argc, argv, "+:c:h", options, NULL)) != -1) {
		switch (option) {
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			run_usage(stdout);
			return CLI_EXIT_OK;
		default:
			return cli_bad_option("run", option, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error("run", "which program? (phitrail run "
				       "[--config FILE] [--] CMD [ARGS...])");
	if (config_path && set_config(config_path) < 0)
		return CLI_EXIT_FAILURE;
	if (find_shim(shim, sizeof(shim)) < 0)
		return CLI_EXIT_FAILURE;
	if (prepend_preload(shim) < 0) {
		warnx("cannot set LD_PRELOAD");
		return CLI_EXIT_FAILURE;
	}
	warn_if_unauditable(argv[optind]);
	execvp(argv[optind], argv + optind);
	warn("cannot run %s", argv[optind]);
	return errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE;
}
