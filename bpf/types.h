/* The few kernel UAPI definitions leakscope's programs use. Declared here
 * rather than through <linux/bpf.h>, which pulls in architecture-specific
 * headers that would tie generation to one build host. Values are kernel
 * ABI and never change. */
#pragma once

typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef short __s16;
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;

enum {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_STACK_TRACE = 7,
	BPF_MAP_TYPE_PERCPU_HASH = 5,
	BPF_MAP_TYPE_LRU_HASH = 9,
};

enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
	BPF_EXIST = 2,
};

#define BPF_F_USER_STACK (1ULL << 8)
#define BPF_F_SKIP_FIELD_MASK 0xffULL
