// SPDX-License-Identifier: GPL-2.0
/*
 * axvm: load the guest image into guest memory.
 *
 * An ELF64 executable of the board's machine is loaded by its PT_LOAD
 * segments, at their physical addresses, and entered at e_entry.  Anything
 * else is a flat binary, loaded and entered at the load address.  Every
 * range is checked against guest memory before anything is copied.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "axvm.h"

/* The guest memory [gpa, gpa + len) may hold an image, or NULL. */
static void *image_dest(struct axvm *vm, const char *path, uint64_t gpa,
			uint64_t len)
{
	void *p;

	if (gpa < axvm_ram_base + axvm_low_reserved) {
		axvm_say("%s: bad image: it loads at 0x%" PRIx64 ", below 0x%" PRIx64 " where the board keeps its tables",
			 path, gpa, axvm_ram_base + axvm_low_reserved);
		return NULL;
	}
	p = axvm_gpa(vm, gpa, len);
	if (!p)
		axvm_say("%s: the image needs memory up to 0x%" PRIx64 ", but the guest has %" PRIu64 " MiB from 0x%" PRIx64 ": use a larger --mem",
			 path, gpa + len, vm->mem_size >> 20, axvm_ram_base);
	return p;
}

static int load_elf(struct axvm *vm, const char *path, const uint8_t *img,
		    size_t size)
{
	const Elf64_Ehdr *eh = (const void *)img;
	bool entry_loaded = false;
	unsigned int i;

	if (size < sizeof(*eh) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB) {
		axvm_say("%s: bad image: not a little-endian 64-bit ELF", path);
		return -1;
	}
	if (eh->e_machine != axvm_elf_machine) {
		axvm_say("%s: bad image: an ELF for machine %u, not %s (%u)",
			 path, eh->e_machine, axvm_arch_name,
			 axvm_elf_machine);
		return -1;
	}
	if (eh->e_type != ET_EXEC) {
		axvm_say("%s: bad image: not an ELF executable (type %u)",
			 path, eh->e_type);
		return -1;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || !eh->e_phnum ||
	    eh->e_phoff > size ||
	    (size - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum) {
		axvm_say("%s: bad image: its program headers are not in the file",
			 path);
		return -1;
	}
	for (i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const void *)(img + eh->e_phoff) + i;
		uint8_t *dst;

		if (ph->p_type != PT_LOAD || !ph->p_memsz)
			continue;
		if (ph->p_filesz > ph->p_memsz || ph->p_offset > size ||
		    size - ph->p_offset < ph->p_filesz) {
			axvm_say("%s: bad image: segment %u is not in the file",
				 path, i);
			return -1;
		}
		dst = image_dest(vm, path, ph->p_paddr, ph->p_memsz);
		if (!dst)
			return -1;
		memcpy(dst, img + ph->p_offset, ph->p_filesz);
		memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
		if (eh->e_entry >= ph->p_paddr &&
		    eh->e_entry - ph->p_paddr < ph->p_memsz)
			entry_loaded = true;
	}
	if (!entry_loaded) {
		axvm_say("%s: bad image: the entry point 0x%llx is in no loaded segment",
			 path, (unsigned long long)eh->e_entry);
		return -1;
	}
	vm->entry = eh->e_entry;
	return 0;
}

int axvm_load(struct axvm *vm, const char *path, uint64_t load_addr,
	      bool have_load_addr)
{
	struct stat sb;
	uint8_t *img, *dst;
	size_t done = 0;
	ssize_t n;
	int fd, r = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		axvm_say("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		axvm_say("%s: bad image: not a regular file", path);
		goto out_close;
	}
	if (!sb.st_size) {
		axvm_say("%s: bad image: the file is empty", path);
		goto out_close;
	}
	if ((uint64_t)sb.st_size > vm->mem_size) {
		axvm_say("%s: the image (%lld KiB) is larger than guest memory (%" PRIu64 " KiB): use a larger --mem",
			 path, (long long)sb.st_size >> 10, vm->mem_size >> 10);
		goto out_close;
	}
	img = malloc(sb.st_size);
	if (!img) {
		axvm_say("%s: out of memory", path);
		goto out_close;
	}
	while (done < (size_t)sb.st_size) {
		n = read(fd, img + done, sb.st_size - done);
		if (n <= 0) {
			axvm_say("%s: read: %s", path,
				 n ? strerror(errno) : "short file");
			goto out_free;
		}
		done += n;
	}

	if (done >= SELFMAG && !memcmp(img, ELFMAG, SELFMAG)) {
		if (have_load_addr)
			axvm_say("%s: an ELF: --load-addr is not used", path);
		r = load_elf(vm, path, img, done);
		goto out_free;
	}
	dst = image_dest(vm, path, load_addr, done);
	if (!dst)
		goto out_free;
	memcpy(dst, img, done);
	vm->entry = load_addr;
	r = 0;
out_free:
	free(img);
out_close:
	close(fd);
	return r;
}
