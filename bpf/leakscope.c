//go:build ignore

// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/* leakscope kernel side.
 *
 * The Go runtime samples heap allocations for its own heap profile: one
 * sampled object per ~MemProfileRate bytes gets a "profile special" that the
 * sweeper frees together with the object. Probing that sampled path (not
 * every malloc) gives alloc AND free events for a statistically sound sample
 * at a few thousand events per second even for a target allocating GB/s.
 *
 *   runtime.setprofilebucket(p, b)      the runtime recorded a sample of
 *                                       object p in its profile bucket b: a
 *                                       live object, keyed on the bucket
 *   runtime.freeSpecial(s, p, size)     a special is freed; if it is the
 *                                       profile kind, the object died
 *   runtime.gcMarkTermination           one per GC cycle: the age clock
 *   runtime.mallocgc(size, typ, zero)   only with --mode=all-allocs: every
 *                                       heap allocation, counted per stack
 *                                       (exact counts, at a high price)
 *
 * No stack is walked per sample: the runtime has already walked it for its
 * own profile and keeps it, with the object size, in the bucket, which lives
 * as long as the process. Samples are keyed on the bucket's address and
 * userspace reads each new bucket's stack and size once from the target's
 * memory. One probe and one map insert per sample instead of a second probe
 * (profilealloc) and a kernel stack walk: about half the cost per sample.
 *
 * Everything is aggregated in maps that userspace snapshots; every way data
 * can be lost is counted per target and per CPU.
 */
#include "types.h"
#include <bpf/bpf_helpers.h>

#include "go_abi.h"

char __license[] SEC("license") = "Dual MIT/GPL";

#define EEXIST 17
#define E2BIG 7

#define STACK_DEPTH 64
#define AGE_BUCKETS 16

enum loss_reason {
	LOSS_LIVE_FULL,        /* live-object map full: sample not tracked */
	LOSS_STATS_FULL,       /* per-stack map full: sample not tracked */
	LOSS_STACK_FAILED,     /* all-allocs: stack walk failed, allocation counted under no stack */
	LOSS_STACK_COLLISION,  /* all-allocs: stack map buckets taken, every retry: no stack */
	LOSS_FREE_UNMATCHED,   /* free of an address never seen (e.g. sampled before attach) */
	LOSS_ADDR_REUSED,      /* address allocated again before its free arrived */
	LOSS_READ_FAILED,      /* reading target memory failed */
	LOSS_ALLOCS_FULL,      /* all-allocs mode: per-stack count map full */
	LOSS_MAX,
};

enum event {
	EV_SAMPLE,      /* setprofilebucket hits: samples the runtime recorded */
	EV_SPECIAL,     /* freeSpecial hits, any special kind */
	EV_FREE,        /* frees of profiled objects matched to a live sample */
	EV_GC,          /* GC cycles */
	EV_MALLOC,      /* all-allocs mode: mallocgc hits (heap allocations) */
	EV_MAX,
};

/* Per-target settings and the GC clock; presence means "watch this tgid". */
struct target {
	__u64 gc_cycles;
	__u16 kind_off;    /* offset of the kind byte in runtime.special */
	__u8 kind_profile; /* kind value of the profile special */
	__u8 _pad[5];
};

struct counts {
	/* No storage: these put enum loss_reason and enum event into the
	 * object's BTF, so that bpf2go -type generates them and userspace
	 * names the counters from this one definition. */
	enum loss_reason loss_reasons[0];
	enum event events[0];
	__u64 loss[LOSS_MAX];
	__u64 event[EV_MAX];
};

struct live_key {
	__u32 tgid;
	__u32 _pad;
	__u64 addr;
};

struct live_val {
	__u64 bucket;  /* the runtime's profile bucket: stack and size */
	__u64 gc;      /* GC cycle count at allocation */
	__u64 time_ns; /* bpf_ktime_get_ns at allocation */
};

/* A bucket stands for one (stack, size): every object counted under it
 * has the bucket's size, so counts are all the kernel keeps. */
struct stats_key {
	__u32 tgid;
	__u32 _pad;
	__u64 bucket;
};

struct stats_val {
	__u64 allocs;
	__u64 frees;
	__u64 freed_age[AGE_BUCKETS]; /* log2 buckets of GC cycles survived */
};

/* --mode=all-allocs: exact allocation counts of one (target, stack). */
struct site_key {
	__u32 tgid;
	__s32 stack_id;
};

struct alloc_count {
	__u64 allocs, bytes;
};

/* Capacities are overridden from userspace before loading. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct target);
} targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct counts);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 131072);
	__type(key, struct live_key);
	__type(value, struct live_val);
} live SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct stats_key);
	__type(value, struct stats_val);
} stats SEC(".maps");

/* Per CPU: every allocation of the target passes here, so the counts
 * must not bounce a shared cache line between cores. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct site_key);
	__type(value, struct alloc_count);
} alloc_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

static __always_inline void count_loss(struct counts *c, __u32 reason)
{
	if (c && reason < LOSS_MAX)
		c->loss[reason]++; /* per-CPU value: no atomics needed */
}

static __always_inline void count_event(struct counts *c, __u32 ev)
{
	if (c && ev < EV_MAX)
		c->event[ev]++;
}

/* age_bucket maps GC cycles survived to a log2 bucket: 0 -> 0, 1 -> 1,
 * 2..3 -> 2, 4..7 -> 3, ..., capped at AGE_BUCKETS-1. */
static __always_inline __u32 age_bucket(__u64 age)
{
	__u32 b = 0;
	if (age >= (1ULL << 32)) return AGE_BUCKETS - 1;
	if (age >= (1 << 16)) { b += 16; age >>= 16; }
	if (age >= (1 << 8)) { b += 8; age >>= 8; }
	if (age >= (1 << 4)) { b += 4; age >>= 4; }
	if (age >= (1 << 2)) { b += 2; age >>= 2; }
	if (age >= (1 << 1)) { b += 1; age >>= 1; }
	b += age; /* age is now 0 or 1 */
	return b > AGE_BUCKETS - 1 ? AGE_BUCKETS - 1 : b;
}

static __always_inline struct stats_val *stats_for(__u32 tgid, __u64 bucket, struct counts *c)
{
	struct stats_key k = {.tgid = tgid, .bucket = bucket};
	struct stats_val *s = bpf_map_lookup_elem(&stats, &k);
	if (s)
		return s;
	struct stats_val zero = {};
	long err = bpf_map_update_elem(&stats, &k, &zero, BPF_NOEXIST);
	if (err && err != -EEXIST) {
		count_loss(c, LOSS_STATS_FULL);
		return 0;
	}
	return bpf_map_lookup_elem(&stats, &k);
}

/* account_free records that a tracked object died after surviving
 * (now - allocated) GC cycles. */
static __always_inline void account_free(__u32 tgid, struct target *t, struct live_val *v, struct counts *c)
{
	struct stats_val *s = stats_for(tgid, v->bucket, c);
	if (!s)
		return;
	__u32 b = age_bucket(t->gc_cycles - v->gc) & (AGE_BUCKETS - 1);
	__sync_fetch_and_add(&s->frees, 1);
	__sync_fetch_and_add(&s->freed_age[b], 1);
}

/* user_stack_id records the calling thread's user stack in `stacks`. That
 * map keeps one stack per hash bucket: when a different stack already holds
 * the bucket, the call fails with EEXIST, and fails again every time this
 * stack comes back, losing all its samples. With many targets (hundreds of
 * distinct stacks) that happens to some stack in most runs. Retrying with
 * the innermost frames skipped hashes to other buckets; those frames are
 * in the runtime's allocator, which the analysis trims anyway. Only when
 * every try collides is the stack lost. */
#define STACK_RETRIES 2

static __always_inline long user_stack_id(void *ctx, struct counts *c)
{
	long sid = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	for (__u64 skip = 1; sid == -EEXIST && skip <= STACK_RETRIES; skip++)
		sid = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK | (skip & BPF_F_SKIP_FIELD_MASK));
	if (sid < 0) {
		count_loss(c, sid == -EEXIST ? LOSS_STACK_COLLISION : LOSS_STACK_FAILED);
		return -1;
	}
	return sid;
}

SEC("uprobe/setprofilebucket")
int setprofilebucket(struct pt_regs *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct target *t = bpf_map_lookup_elem(&targets, &tgid);
	if (!t)
		return 0;
	struct counts *c = bpf_map_lookup_elem(&counters, &tgid);
	count_event(c, EV_SAMPLE);

	struct live_key k = {.tgid = tgid, .addr = GO_PARAM1(ctx)};
	struct live_val v = {
		.bucket = GO_PARAM2(ctx),
		.gc = t->gc_cycles,
		.time_ns = bpf_ktime_get_ns(),
	};
	struct stats_val *s = stats_for(tgid, v.bucket, c);
	if (!s)
		return 0;

	long err = bpf_map_update_elem(&live, &k, &v, BPF_NOEXIST);
	if (err == -EEXIST) {
		/* The old object at this address must have died, but its free
		 * never reached us: account it as freed now, and say so. */
		struct live_val *old = bpf_map_lookup_elem(&live, &k);
		if (old)
			account_free(tgid, t, old, c);
		count_loss(c, LOSS_ADDR_REUSED);
		err = bpf_map_update_elem(&live, &k, &v, BPF_ANY);
	}
	if (err) {
		count_loss(c, LOSS_LIVE_FULL);
		return 0;
	}
	__sync_fetch_and_add(&s->allocs, 1);
	return 0;
}

SEC("uprobe/freeSpecial")
int free_special(struct pt_regs *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct target *t = bpf_map_lookup_elem(&targets, &tgid);
	if (!t)
		return 0;
	struct counts *c = bpf_map_lookup_elem(&counters, &tgid);
	count_event(c, EV_SPECIAL);

	__u8 kind = 0;
	if (bpf_probe_read_user(&kind, sizeof(kind), (void *)(GO_PARAM1(ctx) + t->kind_off))) {
		count_loss(c, LOSS_READ_FAILED);
		return 0;
	}
	if (kind != t->kind_profile)
		return 0; /* a finalizer, weak handle, cleanup, pin... */

	struct live_key k = {.tgid = tgid, .addr = GO_PARAM2(ctx)};
	struct live_val *v = bpf_map_lookup_elem(&live, &k);
	if (!v) {
		count_loss(c, LOSS_FREE_UNMATCHED);
		return 0;
	}
	account_free(tgid, t, v, c);
	bpf_map_delete_elem(&live, &k);
	count_event(c, EV_FREE);
	return 0;
}

SEC("uprobe/gcMarkTermination")
int gc_mark_termination(struct pt_regs *ctx)
{
	/* Runs with the world stopped: keep it tiny. */
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct target *t = bpf_map_lookup_elem(&targets, &tgid);
	if (!t)
		return 0;
	__sync_fetch_and_add(&t->gc_cycles, 1);
	count_event(bpf_map_lookup_elem(&counters, &tgid), EV_GC);
	return 0;
}

SEC("uprobe/mallocgc")
int mallocgc(struct pt_regs *ctx)
{
	/* Every heap allocation: this is the expensive mode (a stack walk per
	 * allocation). Zero-size allocations return &zerobase and allocate
	 * nothing; like runtime.MemStats.Mallocs, they are not counted. */
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct target *t = bpf_map_lookup_elem(&targets, &tgid);
	if (!t)
		return 0;
	__u64 size = GO_PARAM1(ctx);
	if (size == 0)
		return 0;
	struct counts *c = bpf_map_lookup_elem(&counters, &tgid);
	count_event(c, EV_MALLOC);

	struct site_key k = {.tgid = tgid, .stack_id = user_stack_id(ctx, c)};
	struct alloc_count *a = bpf_map_lookup_elem(&alloc_counts, &k);
	if (a) {
		a->allocs++; /* this CPU's copy: no atomics needed */
		a->bytes += size;
		return 0;
	}
	struct alloc_count first = {.allocs = 1, .bytes = size};
	if (bpf_map_update_elem(&alloc_counts, &k, &first, BPF_NOEXIST) == 0)
		return 0;
	/* Another program on this CPU created it meanwhile, or the map is full. */
	a = bpf_map_lookup_elem(&alloc_counts, &k);
	if (!a) {
		count_loss(c, LOSS_ALLOCS_FULL);
		return 0;
	}
	a->allocs++;
	a->bytes += size;
	return 0;
}
