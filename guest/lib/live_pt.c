/* The live page tables: a struct pt on CR3 whose frames come from the boot info's pool. Shared by
 * the #PF handler (heap growth) and by guests that edit their own mappings. */
#include <pagewarden/guest.h>
#include <pagewarden/live_pt.h>

/* Pool cursor: the boot info is read-only, so the runtime keeps its own copy. */
static uint64_t pool_next, pool_end;
static struct pt live;
static bool attached;

/* A zeroed-by-the-library frame from the pool, or 0 when it is exhausted. */
static uint64_t pool_alloc(void *ctx)
{
	(void)ctx;
	if (pool_next >= pool_end)
		return 0;
	pool_next += PW_PAGE_SIZE;
	return pool_next - PW_PAGE_SIZE;
}

/* Frames are not reused: a bump allocator cannot take them back, and freeing is rare. */
static void pool_free(void *ctx, uint64_t pa)
{
	(void)ctx;
	(void)pa;
}

/* Identity map: guest-physical = guest-virtual below 4 GiB, where every table lives. */
static void *identity(void *ctx, uint64_t pa)
{
	(void)ctx;
	return (void *)(uintptr_t)pa;
}

static const struct pt_handler pool_handler = {
    .alloc_frame = pool_alloc,
    .free_frame = pool_free,
    .phys_to_virt = identity,
};

struct pt *pw_live_pt(void)
{
	const struct pw_boot_info *bi;
	unsigned features;

	if (attached)
		return &live;
	bi = pw_boot_info();
	pool_next = bi->pt_pool_next;
	pool_end = bi->pt_pool_end;
	features = bi->features & PW_BOOT_F_1G_PAGES ? PT_FEAT_1G : 0;
	if (pt_attach(&live, &pool_handler, pw_read_cr3() & PTE_ADDR_MASK_4K, bi->maxphyaddr,
		      features) != PT_OK)
		panic("cannot attach to the live page tables (CR3 0x%lx, maxphyaddr %u)",
		      pw_read_cr3(), bi->maxphyaddr);
	attached = true;
	return &live;
}

void pw_tlb_flush(const struct pt_flush *fl)
{
	if (fl->kind == PT_FLUSH_ALL) {
		__asm__ volatile("mov %0, %%cr3" : : "r"(pw_read_cr3()) : "memory");
		return;
	}
	for (unsigned i = 0; fl->kind == PT_FLUSH_PAGES && i < fl->count; i++)
		pw_invlpg(fl->va[i]);
}

uint64_t pw_pt_pool_free(void)
{
	pw_live_pt();
	return (pool_end - pool_next) / PW_PAGE_SIZE;
}
