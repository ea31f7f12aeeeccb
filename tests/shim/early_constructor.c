/*
 * early_constructor.c - a library whose constructor reads $EARLY_FILE;
 * preloaded after libphitrail.so, its constructor runs before the shim's,
 * so the shim must initialise itself lazily inside that call.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
__attribute__((constructor)) static void early(void)
{
	char buf[16];
	const char *p = getenv("EARLY_FILE");
	int fd = p ? open(p, O_RDONLY) : -1;
	if (fd >= 0) { if (read(fd, buf, sizeof buf) < 0) abort(); close(fd); }
}
