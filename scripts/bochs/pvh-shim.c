// SPDX-License-Identifier: GPL-2.0
/*
 * pvh-shim.c - boot an uncompressed x86-64 Linux through its PVH entry.
 *
 * Bochs has no direct kernel boot, and the bzImage's XZ decompressor takes
 * most of a minute under it.  This is a Multiboot (v1) kernel instead, for
 * syslinux's mboot.c32, with two modules:
 *
 *   module 0  the kernel image made by pvh-image.c: a header, then the
 *             kernel's loadable segments as one flat image
 *   module 1  the initramfs
 *
 * and the multiboot command line "<shim> <kernel command line>".  It moves
 * the initramfs to the top of low memory and the kernel to its physical
 * load address, fills a struct hvm_start_info and jumps to the kernel's
 * PVH entry (XEN_ELFNOTE_PHYS32_ENTRY) in 32-bit protected mode with EBX
 * pointing at it, as the PVH boot protocol asks.  Messages go to COM1.
 */
#include <stdint.h>
#include <stddef.h>

#define MB_HEADER_MAGIC	0x1badb002u
#define MB_LOADER_MAGIC	0x2badb002u
#define MB_PAGE_ALIGN	(1u << 0)
#define MB_MEMORY_INFO	(1u << 1)
#define MB_FLAGS	(MB_PAGE_ALIGN | MB_MEMORY_INFO)

#define MBI_CMDLINE	(1u << 2)
#define MBI_MODS	(1u << 3)
#define MBI_MMAP	(1u << 6)

#define HVM_START_MAGIC	0x336ec578u
#define E820_RAM	1

#define COM1		0x3f8

__attribute__((section(".multiboot"), used, aligned(4)))
static const uint32_t multiboot_header[3] = {
	MB_HEADER_MAGIC, MB_FLAGS, -(MB_HEADER_MAGIC + MB_FLAGS),
};

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
} __attribute__((packed));

struct mb_module {
	uint32_t start, end, string, reserved;
};

struct mb_mmap_entry {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

/* The PVH boot protocol's structures (xen/include/public/arch-x86/hvm). */
struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

/* Written by pvh-image.c; little-endian, 64 bytes. */
struct pvh_image_header {
	char magic[8];		/* "AXPVHIMG" */
	uint64_t load_paddr;	/* where the first byte goes */
	uint64_t file_size;	/* bytes that follow the header */
	uint64_t mem_size;	/* bytes the image occupies, zeros after */
	uint64_t entry;		/* the 32-bit PVH entry point */
	uint8_t pad[24];
};

#define MAX_MAP		64

static struct hvm_start_info start_info __attribute__((aligned(16)));
static struct hvm_modlist_entry initrd_entry __attribute__((aligned(16)));
static struct hvm_memmap_table_entry memmap[MAX_MAP] __attribute__((aligned(16)));
static char cmdline[4096];

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void put_char(char c)
{
	while (!(inb(COM1 + 5) & 0x20))
		;
	outb(COM1, c);
}

static void put_str(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			put_char('\r');
		put_char(*s);
	}
}

static void put_hex(uint64_t v)
{
	int shift;

	put_str("0x");
	for (shift = 60; shift >= 0; shift -= 4)
		put_char("0123456789abcdef"[(v >> shift) & 15]);
}

static void __attribute__((noreturn)) fail(const char *why)
{
	put_str("pvh-shim: ");
	put_str(why);
	put_str("\n");
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* Copy n bytes, the regions may overlap; both ends 4-byte aligned. */
static void move(uint32_t dst, uint32_t src, uint32_t n)
{
	uint32_t words = n / 4, bytes = n % 4;

	if (dst == src || !n)
		return;
	if (dst < src || dst >= src + n) {
		__asm__ volatile("rep movsl; mov %3, %%ecx; rep movsb"
				 : "+D"(dst), "+S"(src), "+c"(words)
				 : "r"(bytes) : "memory");
		return;
	}
	/* Backwards: the tail bytes first, then the words. */
	dst += n - 1;
	src += n - 1;
	__asm__ volatile("std; rep movsb; sub $3, %%edi; sub $3, %%esi;"
			 "mov %3, %%ecx; rep movsl; cld"
			 : "+D"(dst), "+S"(src), "+c"(bytes)
			 : "r"(words) : "memory");
}

static void zero(uint32_t dst, uint32_t n)
{
	__asm__ volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(0) : "memory");
}

static int overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

void shim_main(uint32_t magic, const struct mb_info *mbi)
{
	const struct mb_module *mods;
	const struct pvh_image_header *h;
	uint64_t low_top = 0, img_src, rd_src, rd_len, rd_dst;
	const char *c = "";
	uint32_t n = 0, off;
	size_t i;

	put_str("pvh-shim: start\n");
	if (magic != MB_LOADER_MAGIC)
		fail("not started by a multiboot loader");
	if (!(mbi->flags & MBI_MODS) || mbi->mods_count < 2)
		fail("two modules needed: the kernel image, the initramfs");
	if (!(mbi->flags & MBI_MMAP))
		fail("no memory map");
	mods = (const struct mb_module *)mbi->mods_addr;

	/* The kernel's command line: the loader's without the first word. */
	if (mbi->flags & MBI_CMDLINE)
		c = (const char *)mbi->cmdline;
	while (*c && *c != ' ')
		c++;
	while (*c == ' ')
		c++;
	for (i = 0; c[i] && i < sizeof(cmdline) - 1; i++)
		cmdline[i] = c[i];
	cmdline[i] = 0;

	/* The memory map, and the end of the RAM that holds 1 MiB. */
	for (off = 0; off < mbi->mmap_length && n < MAX_MAP; n++) {
		const struct mb_mmap_entry *e =
			(const void *)(mbi->mmap_addr + off);

		memmap[n].addr = e->addr;
		memmap[n].size = e->len;
		memmap[n].type = e->type;
		memmap[n].reserved = 0;
		if (e->type == E820_RAM && e->addr <= 0x100000 &&
		    e->addr + e->len > 0x100000 &&
		    e->addr + e->len <= 0x100000000ull)
			low_top = e->addr + e->len;
		off += e->size + 4;
	}

	h = (const struct pvh_image_header *)mods[0].start;
	if (h->magic[0] != 'A' || h->magic[1] != 'X' || h->magic[2] != 'P' ||
	    h->magic[3] != 'V')
		fail("module 0 is not a kernel image from pvh-image");
	img_src = mods[0].start + sizeof(*h);
	rd_src = mods[1].start;
	rd_len = mods[1].end - mods[1].start;

	/* The initramfs goes high, clear of the kernel's source and target. */
	rd_dst = (low_top - rd_len) & ~0xfffull;
	if (rd_len > low_top ||
	    overlap(rd_dst, rd_len, h->load_paddr, h->mem_size) ||
	    overlap(rd_dst, rd_len, img_src, h->file_size))
		fail("no room for the initramfs");
	put_str("pvh-shim: kernel ");
	put_hex(img_src);
	put_str(" -> ");
	put_hex(h->load_paddr);
	put_str(", initramfs -> ");
	put_hex(rd_dst);
	put_str("\n");
	move(rd_dst, rd_src, rd_len);
	move(h->load_paddr, img_src, h->file_size);
	zero(h->load_paddr + h->file_size, h->mem_size - h->file_size);

	initrd_entry.paddr = rd_dst;
	initrd_entry.size = rd_len;
	start_info.magic = HVM_START_MAGIC;
	start_info.version = 1;
	start_info.nr_modules = 1;
	start_info.modlist_paddr = (uint32_t)&initrd_entry;
	start_info.cmdline_paddr = (uint32_t)cmdline;
	start_info.memmap_paddr = (uint32_t)memmap;
	start_info.memmap_entries = n;

	put_str("pvh-shim: entering the kernel at ");
	put_hex(h->entry);
	put_str("\n");
	__asm__ volatile("jmp *%0" : : "r"((uint32_t)h->entry),
			 "b"((uint32_t)&start_info) : "memory");
	fail("the kernel returned");
}
