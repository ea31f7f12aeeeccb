/*
 * fortified.c - built with -O2 -D_FORTIFY_SOURCE=2 so it calls only
 * __open_2 and __read_chk: the fortified entry points must be audited too.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	char buf[16];
	volatile int flags = O_RDONLY;
	size_t n = (size_t)argc * 4;
	int fd = open(argv[1], flags);
	if (fd < 0 || read(fd, buf, n) < 0) return 1;
	return close(fd);
}
