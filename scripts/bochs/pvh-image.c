// SPDX-License-Identifier: GPL-2.0
/*
 * pvh-image.c - flatten an uncompressed x86-64 vmlinux for pvh-shim.c.
 *
 * Usage: pvh-image VMLINUX OUT
 *
 * Writes a 64-byte header (load address, sizes, the PVH entry point from
 * the XEN_ELFNOTE_PHYS32_ENTRY note), then the kernel's PT_LOAD segments
 * laid out by physical address, without the trailing zeros (the shim
 * clears them).  A kernel without CONFIG_PVH has no such note: error.
 */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XEN_ELFNOTE_PHYS32_ENTRY	18

struct pvh_image_header {
	char magic[8];
	uint64_t load_paddr, file_size, mem_size, entry;
	uint8_t pad[24];
};

static void die(const char *what)
{
	fprintf(stderr, "pvh-image: %s\n", what);
	exit(1);
}

static uint64_t note_entry(const unsigned char *elf, size_t len,
			   const Elf64_Phdr *p)
{
	size_t o = p->p_offset, end = p->p_offset + p->p_filesz;

	/* Linux's note segment is short of its last note: read to EOF. */
	while (o < end && o + sizeof(Elf64_Nhdr) <= len) {
		const Elf64_Nhdr *n = (const void *)(elf + o);
		size_t name = o + sizeof(*n);
		size_t desc = name + ((n->n_namesz + 3) & ~3u);

		if (desc + n->n_descsz > len)
			break;
		if (n->n_type == XEN_ELFNOTE_PHYS32_ENTRY &&
		    n->n_namesz == 4 && !memcmp(elf + name, "Xen", 4)) {
			if (n->n_descsz == 4)
				return *(const uint32_t *)(elf + desc);
			return *(const uint64_t *)(elf + desc);
		}
		o = desc + ((n->n_descsz + 3) & ~3u);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct pvh_image_header h = { .magic = "AXPVHIMG" };
	uint64_t base = UINT64_MAX, end = 0, entry = 0, fsz;
	const Elf64_Ehdr *eh;
	unsigned char *elf, *img;
	FILE *f;
	long len;
	int i;

	if (argc != 3)
		die("usage: pvh-image VMLINUX OUT");
	f = fopen(argv[1], "rb");
	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < (long)sizeof(*eh))
		die("cannot read the kernel");
	rewind(f);
	elf = malloc(len);
	if (!elf || fread(elf, 1, len, f) != (size_t)len)
		die("cannot read the kernel");
	fclose(f);
	eh = (const void *)elf;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > (uint64_t)len)
		die("not a 64-bit ELF kernel");

	for (i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *p = (const Elf64_Phdr *)(elf + eh->e_phoff) + i;

		if (p->p_type == PT_LOAD) {
			if (p->p_offset + p->p_filesz > (uint64_t)len)
				die("segment past the end of the file");
			if (p->p_paddr < base)
				base = p->p_paddr;
			if (p->p_paddr + p->p_memsz > end)
				end = p->p_paddr + p->p_memsz;
		} else if (p->p_type == PT_NOTE && !entry) {
			entry = note_entry(elf, len, p);
		}
	}
	if (!entry)
		die("no PVH entry note: the kernel lacks CONFIG_PVH");
	if (end <= base || end - base > (1u << 30))
		die("odd load segments");

	img = calloc(1, end - base);
	if (!img)
		die("out of memory");
	for (i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *p = (const Elf64_Phdr *)(elf + eh->e_phoff) + i;

		if (p->p_type == PT_LOAD)
			memcpy(img + (p->p_paddr - base), elf + p->p_offset,
			       p->p_filesz);
	}
	for (fsz = end - base; fsz && !img[fsz - 1]; fsz--)
		;
	fsz = (fsz + 4095) & ~4095ull;
	if (fsz > end - base)
		fsz = end - base;

	h.load_paddr = base;
	h.file_size = fsz;
	h.mem_size = end - base;
	h.entry = entry;
	f = fopen(argv[2], "wb");
	if (!f || fwrite(&h, sizeof(h), 1, f) != 1 ||
	    fwrite(img, 1, fsz, f) != fsz || fclose(f))
		die("cannot write the image");
	printf("load 0x%llx, %llu bytes (%llu in memory), entry 0x%llx\n",
	       (unsigned long long)base, (unsigned long long)fsz,
	       (unsigned long long)(end - base), (unsigned long long)entry);
	return 0;
}
