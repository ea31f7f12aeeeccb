/*
 * real_elf.c - owns finding the next definitions of the wrapped names in
 * one pass over the loaded objects' dynamic symbol tables, the way the
 * dynamic linker's lookup for dlsym(RTLD_NEXT, name) finds them: in load
 * order, starting after the object that asks, the first object whose GNU
 * hash table holds a defined, global or weak symbol of that name with no
 * version or the one default version. About ten times cheaper per name
 * than dlsym (no error catching, no lock per call, one walk of the object
 * list for all names), which is most of what the shim's start-up paid for
 * its ~170 functions.
 *
 * It only ever gives an answer dlsym would give: whatever it is not sure
 * of (an object without a GNU hash table, IFUNC, TLS, data and GNU_UNIQUE
 * symbols, a name not found by the end of the C library) stays NULL for
 * the caller's dlsym. tests/unit/test_real_elf.c compares every entry of
 * the shim's table with dlsym. Never allocates, never calls a wrapped
 * function.
 */
#include <elf.h>
#include <gnu/libc-version.h>
#include <link.h>
#include <stdint.h>
#include <string.h>

#include "real_elf.h"

#if __ELF_NATIVE_CLASS == 64
#define REAL_ELF_ST_TYPE ELF64_ST_TYPE
#define REAL_ELF_ST_BIND ELF64_ST_BIND
#else
#define REAL_ELF_ST_TYPE ELF32_ST_TYPE
#define REAL_ELF_ST_BIND ELF32_ST_BIND
#endif

struct real_elf_walk {
	const void *self;            /* an address inside the asking object */
	const void *libc;            /* an address inside the C library */
	const char *const *names;
	void **found;
	size_t count;
	size_t got;
	int after_self;              /* the asking object has been passed */
	int libc_first;              /* the C library came before it (dlopen) */
	int refused;                 /* an object we cannot read: all to dlsym */
	unsigned char *settled;      /* names decided by an earlier object */
};

/* The tables an object's lookup needs, from its dynamic section. */
struct real_elf_tables {
	ElfW(Addr) base;
	const uint32_t *gnu_hash;
	const ElfW(Sym) *symtab;
	const char *strtab;
	const ElfW(Half) *versym;
};

static int real_elf_contains(const struct dl_phdr_info *info, const void *addr)
{
	uintptr_t a = (uintptr_t)addr;

	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && a >= start && a - start < ph->p_memsz)
			return 1;
	}
	return 0;
}

/* A dynamic-section address: relocated by ld.so for most objects, not for
 * the vDSO and objects whose dynamic section is read-only. */
static const void *real_elf_ptr(ElfW(Addr) base, ElfW(Addr) ptr)
{
	return (const void *)(ptr < base ? ptr + base : ptr);
}

static int real_elf_tables(const struct dl_phdr_info *info,
			   struct real_elf_tables *t)
{
	const ElfW(Dyn) *dyn = NULL;

	memset(t, 0, sizeof(*t));
	t->base = info->dlpi_addr;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(info->dlpi_addr +
						  info->dlpi_phdr[i].p_vaddr);
	if (dyn == NULL)
		return 0;                   /* nothing to find here */
	for (; dyn->d_tag != DT_NULL; dyn++) {
		const void *p = real_elf_ptr(t->base, dyn->d_un.d_ptr);

		switch (dyn->d_tag) {
		case DT_GNU_HASH: t->gnu_hash = p; break;
		case DT_SYMTAB: t->symtab = p; break;
		case DT_STRTAB: t->strtab = p; break;
		case DT_VERSYM: t->versym = p; break;
		default: break;
		}
	}
	if (t->symtab == NULL || t->strtab == NULL)
		return 0;
	return t->gnu_hash != NULL ? 0 : -1;
}

static uint32_t real_elf_hash(const char *name)
{
	uint32_t h = 5381;

	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		h = h * 33 + *c;
	return h;
}

enum real_elf_answer {
	REAL_ELF_ABSENT,             /* not defined here: look further */
	REAL_ELF_FOUND,
	REAL_ELF_UNSURE,             /* defined here, but leave it to dlsym */
};

/* Judges one symbol whose name matched, as ld.so's check_match does for a
 * lookup without a version that wants the newest (dlsym). */
static enum real_elf_answer real_elf_judge(const struct real_elf_tables *t,
					   uint32_t index, unsigned *defaults,
					   const ElfW(Sym) **pick)
{
	const ElfW(Sym) *sym = &t->symtab[index];
	unsigned type = REAL_ELF_ST_TYPE(sym->st_info);
	unsigned bind = REAL_ELF_ST_BIND(sym->st_info);

	if (sym->st_shndx == SHN_UNDEF)
		return REAL_ELF_ABSENT;
	if (sym->st_value == 0 && sym->st_shndx != SHN_ABS && type != STT_TLS)
		return REAL_ELF_ABSENT;
	if (type != STT_FUNC || (bind != STB_GLOBAL && bind != STB_WEAK))
		return REAL_ELF_UNSURE;
	if (t->versym != NULL && (t->versym[index] & 0x7fff) >= 2) {
		if ((t->versym[index] & 0x8000) == 0 && (*defaults)++ == 0)
			*pick = sym;            /* the default version */
		return REAL_ELF_ABSENT;
	}
	*pick = sym;
	return REAL_ELF_FOUND;
}

static enum real_elf_answer real_elf_find(const struct real_elf_tables *t,
					  const char *name, void **out)
{
	const uint32_t *h = t->gnu_hash;
	uint32_t nbuckets = h[0], symoffset = h[1], bloom_size = h[2];
	uint32_t shift = h[3], hash = real_elf_hash(name), index;
	const ElfW(Addr) *bloom = (const ElfW(Addr) *)&h[4];
	const uint32_t *buckets = (const uint32_t *)&bloom[bloom_size];
	const uint32_t *chain = &buckets[nbuckets];
	const unsigned bits = sizeof(ElfW(Addr)) * 8;
	const ElfW(Sym) *pick = NULL;
	unsigned defaults = 0;
	ElfW(Addr) word, mask;

	if (nbuckets == 0 || bloom_size == 0)
		return REAL_ELF_ABSENT;
	word = bloom[(hash / bits) % bloom_size];
	mask = ((ElfW(Addr))1 << (hash % bits)) |
		((ElfW(Addr))1 << ((hash >> shift) % bits));
	if ((word & mask) != mask)
		return REAL_ELF_ABSENT;
	index = buckets[hash % nbuckets];
	if (index < symoffset)
		return REAL_ELF_ABSENT;
	for (;; index++) {
		uint32_t h2 = chain[index - symoffset];

		if ((h2 | 1) == (hash | 1) &&
		    strcmp(t->strtab + t->symtab[index].st_name, name) == 0) {
			enum real_elf_answer a = real_elf_judge(t, index,
								&defaults, &pick);

			if (a != REAL_ELF_ABSENT) {
				if (a == REAL_ELF_FOUND)
					*out = (void *)(t->base + pick->st_value);
				return a;
			}
		}
		if (h2 & 1)
			break;
	}
	if (defaults == 1) {
		*out = (void *)(t->base + pick->st_value);
		return REAL_ELF_FOUND;
	}
	return defaults > 1 ? REAL_ELF_UNSURE : REAL_ELF_ABSENT;
}

static int real_elf_visit(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct real_elf_walk *w = arg;
	struct real_elf_tables t;

	(void)size;
	if (!w->after_self) {
		/* RTLD_NEXT from an object loaded after the C library (by
		 * dlopen) searches its own scope, not what follows it */
		if (real_elf_contains(info, w->libc)) {
			w->libc_first = 1;
			return 1;
		}
		w->after_self = real_elf_contains(info, w->self);
		return 0;
	}
	if (real_elf_tables(info, &t) < 0) {
		w->refused = 1;             /* cannot look inside: dlsym decides */
		return 1;
	}
	for (size_t i = 0; t.gnu_hash != NULL && i < w->count; i++) {
		void *p = NULL;

		if (w->settled[i] || w->found[i] != NULL)
			continue;
		switch (real_elf_find(&t, w->names[i], &p)) {
		case REAL_ELF_FOUND:
			w->found[i] = p;
			w->got++;
			w->settled[i] = 1;
			break;
		case REAL_ELF_UNSURE:
			w->settled[i] = 1;      /* stays NULL: dlsym's turn */
			break;
		case REAL_ELF_ABSENT:
			break;
		}
	}
	return real_elf_contains(info, w->libc);   /* stop after the C library */
}

size_t real_elf_lookup(const void *self, const char *const names[],
		       void *found[], size_t count)
{
	unsigned char settled[512];
	struct real_elf_walk w = {
		.self = self,
		.libc = (const void *)gnu_get_libc_version,
		.names = names,
		.found = found,
		.count = count,
		.settled = settled,
	};

	if (count > sizeof(settled))
		return 0;
	memset(settled, 0, count);
	dl_iterate_phdr(real_elf_visit, &w);
	if (w.libc_first)
		return 0;                   /* nothing set: all to dlsym */
	if (w.refused) {
		/* an object we could not read may define any of them first */
		for (size_t i = 0; i < count; i++)
			if (settled[i] && found[i] != NULL)
				found[i] = NULL;
		return 0;
	}
	return w.got;
}
