/*
 * real_elf.h - the next definitions of many names at once, read from the
 * loaded objects' dynamic symbol tables (real_elf.c), for real.c's
 * start-up instead of one dlsym(RTLD_NEXT, ...) per name.
 */
#ifndef PHITRAIL_SHIM_REAL_ELF_H
#define PHITRAIL_SHIM_REAL_ELF_H

#include <stddef.h>

/*
 * For each names[i] with found[i] still NULL: the definition dlsym(
 * RTLD_NEXT, names[i]) called from the object that contains self would
 * return, searching the objects loaded after that one up to and including
 * the C library. found[i] stays NULL wherever this cannot be as sure as
 * dlsym (the name is not found there, an object has no GNU hash table, the
 * symbol is an IFUNC, TLS, data or GNU_UNIQUE, its version is ambiguous):
 * the caller then asks dlsym. Never allocates; returns how many it found.
 */
size_t real_elf_lookup(const void *self, const char *const names[],
		       void *found[], size_t count);

#endif
