/*
 * policy.c - the "policy" verb: "policy check [FILE]" loads a configuration
 * the way the shim and the collector do and lists its errors or sums it up;
 * "policy explain PATH..." says which rule audits each path and which
 * patient id the rule takes from it.
 *
 * The parser keeps only the first error of a file (config.h). To list every
 * error, check reloads the file from memory with each reported line blanked
 * out, until it loads or stops making progress; every message printed is
 * the parser's own.
 * Must never: judge a configuration by rules of its own (the one parser is
 * config.c), or write to the file.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "pathglob.h"

#define CHECK_MAX_ERRORS 100

static int policy_check(int argc, char **argv);
static int policy_explain(int argc, char **argv);

static const struct policy_subverb {
	const char *name;
	int (*handler)(int argc, char **argv);
} policy_subverbs[] = {
	{ "check", policy_check },
	{ "explain", policy_explain },
};
#define SUBVERB_COUNT (sizeof(policy_subverbs) / sizeof(policy_subverbs[0]))

static void
policy_usage(FILE *stream)
{
	fprintf(stream, "usage: phitrail policy check [--config FILE] [FILE]\n"
		"       phitrail policy explain [--config FILE] PATH...\n\n"
		"check    loads the configuration (FILE, --config, $PHITRAIL_CONFIG "
		"or\n         " CONFIG_DEFAULT_PATH ") and prints each error as "
		"FILE:LINE: ...,\n         or a summary when it has none "
		"(exit 1 on errors)\n"
		"explain  prints, for each PATH (relative to the current "
		"directory), the\n         rule that audits it and the patient id "
		"it yields\n");
}

static const char *
plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* Parses "--config FILE" and "--help" of a subverb. Returns 0, -1 (help shown) or an exit status. */
static int
parse_config_option(int argc, char **argv, const char **config_path)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int option;

	optind = 0;
	opterr = 0;
	while ((option = getopt_long(argc, argv, ":c:h", options, NULL)) != -1) {
		switch (option) {
		case 'c':
			*config_path = optarg;
			break;
		case 'h':
			policy_usage(stdout);
			return -1;
		default:
			return cli_bad_option("policy", option, argv);
		}
	}
	return 0;
}

/* The line number of a "PATH:LINE: ..." message, or 0. */
static unsigned long
error_line(const char *message, const char *path)
{
	size_t len = strlen(path);
	char *end;
	unsigned long line;

	if (strncmp(message, path, len) != 0 || message[len] != ':')
		return 0;
	line = strtoul(message + len + 1, &end, 10);
	if (end == message + len + 1 || *end != ':')
		return 0;
	return line;
}

/* Overwrites line number `line` (from 1) of text with spaces. 0 or -1. */
static int
blank_line(char *text, size_t len, unsigned long line)
{
	size_t i = 0;

	for (unsigned long at = 1; at < line; at++) {
		const char *newline = memchr(text + i, '\n', len - i);
		if (newline == NULL)
			return -1;
		i = (size_t)(newline - text) + 1;
	}
	for (; i < len && text[i] != '\n'; i++)
		text[i] = ' ';
	return 0;
}

static char *
read_whole_file(const char *path, size_t *len)
{
	FILE *file = fopen(path, "re");
	char *text = NULL;
	size_t size = 0;
	FILE *mem;
	char chunk[4096];
	size_t n;

	if (file == NULL)
		return NULL;
	mem = open_memstream(&text, &size);
	if (mem == NULL) {
		fclose(file);
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), file)) > 0)
		fwrite(chunk, 1, n, mem);
	if (ferror(file) || fclose(mem) != 0) {
		fclose(file);
		free(text);
		return NULL;
	}
	fclose(file);
	*len = size;
	return text;
}

/* Prints the errors after the first one (already in cfg). Returns how many were printed. */
static unsigned
print_more_errors(struct config *cfg, const char *path, unsigned total)
{
	size_t len = 0;
	char *text = read_whole_file(path, &len);
	unsigned printed = 0;
	unsigned long line;

	if (text == NULL)
		return 0;
	while (printed + 1 < total && printed < CHECK_MAX_ERRORS &&
	       (line = error_line(cfg->error, path)) > 0) {
		if (blank_line(text, len, line) < 0)
			break;
		if (config_load_string(cfg, path, text, len) != -EINVAL)
			break;
		if (error_line(cfg->error, path) == line)
			break;                  /* no progress */
		printf("%s\n", cfg->error);
		printed++;
	}
	free(text);
	return printed;
}

static int
policy_check(int argc, char **argv)
{
	const char *config_path = NULL, *path;
	struct config *cfg;
	unsigned total;
	int rc;

	if ((rc = parse_config_option(argc, argv, &config_path)) != 0)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if (optind + 1 < argc)
		return cli_usage_error("policy", "check takes one FILE");
	path = config_choose_path(optind < argc ? argv[optind] : config_path);
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL)
		err(CLI_EXIT_FAILURE, "allocating the configuration");
	rc = config_load(cfg, path);
	if (rc == 0) {
		printf("%s: ok, %zu %s, %zu file %s, %zu address %s\n", path,
		       cfg->rule_count, plural(cfg->rule_count, "rule", "rules"),
		       cfg->pattern_count,
		       plural(cfg->pattern_count, "pattern", "patterns"),
		       cfg->address_count,
		       plural(cfg->address_count, "rule", "rules"));
		free(cfg);
		return CLI_EXIT_OK;
	}
	if (rc != -EINVAL) {
		warnx("cannot read %s: %s", path, strerror(-rc));
		free(cfg);
		return CLI_EXIT_FAILURE;
	}
	total = cfg->error_count ? cfg->error_count : 1;
	printf("%s\n", cfg->error);
	unsigned printed = 1 + print_more_errors(cfg, path, total);
	if (printed < total)
		printf("%s: %u more %s not shown: fix the ones above and check "
		       "again\n", path, total - printed,
		       plural(total - printed, "error", "errors"));
	free(cfg);
	return CLI_EXIT_FAILURE;
}

static int
policy_explain(int argc, char **argv)
{
	const char *config_path = NULL, *path;
	char cwd[PATH_MAX], normal[PATH_MAX], patient[PATH_MAX];
	struct config *cfg;
	int rc, status = CLI_EXIT_OK;

	if ((rc = parse_config_option(argc, argv, &config_path)) != 0)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if (optind >= argc)
		return cli_usage_error("policy", "explain needs at least one "
				       "PATH");
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		err(CLI_EXIT_FAILURE, "cannot tell the current directory");
	path = config_choose_path(config_path);
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL)
		err(CLI_EXIT_FAILURE, "allocating the configuration");
	rc = config_load(cfg, path);
	if (rc == -EINVAL) {
		warnx("warning: %s ('phitrail policy check %s' lists every "
		      "error); explaining with what loaded", cfg->error, path);
	} else if (rc < 0) {
		warnx("cannot read %s: %s (give another with --config FILE)",
		      path, strerror(-rc));
		free(cfg);
		return CLI_EXIT_FAILURE;
	}
	for (int i = optind; i < argc; i++) {
		long len = pathglob_normalise(cwd, argv[i], normal,
					      sizeof(normal));
		int rule;

		if (len < 0) {
			warnx("%s: %s", argv[i], strerror((int)-len));
			status = CLI_EXIT_FAILURE;
			continue;
		}
		rule = config_match_path(cfg, normal, patient, sizeof(patient));
		if (rule < 0 || (size_t)rule >= cfg->rule_count)
			printf("%s: no rule matches: not audited\n", normal);
		else if (patient[0])
			printf("%s: rule %s, patient %s\n", normal,
			       cfg->rules[rule].name, patient);
		else
			printf("%s: rule %s, no patient id in the path\n",
			       normal, cfg->rules[rule].name);
	}
	free(cfg);
	return status;
}

int
cli_policy_main(int argc, char **argv)
{
	if (argc < 2) {
		policy_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		policy_usage(stdout);
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < SUBVERB_COUNT; i++)
		if (strcmp(policy_subverbs[i].name, argv[1]) == 0)
			return policy_subverbs[i].handler(argc - 1, argv + 1);
	return cli_usage_error("policy", "no subcommand '%s' (check or "
			       "explain)", argv[1]);
}
