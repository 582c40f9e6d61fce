/* Go register-ABI (Go >= 1.17) argument access for uprobes on Go code.
 *
 * Only the register layout of the kernel's struct pt_regs is declared here,
 * not a full vmlinux.h: uprobe programs read user registers and user memory,
 * nothing else of the kernel.
 */
#pragma once

#if defined(__TARGET_ARCH_x86)
struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};
/* amd64 Go ABI: integer arguments in AX, BX, CX, DI, SI, R8, R9, R10, R11. */
#define GO_PARAM1(ctx) ((ctx)->ax)
#define GO_PARAM2(ctx) ((ctx)->bx)
#define GO_PARAM3(ctx) ((ctx)->cx)
#elif defined(__TARGET_ARCH_arm64)
struct pt_regs {
	unsigned long regs[31];
	unsigned long sp, pc, pstate;
};
/* arm64 Go ABI: integer arguments in R0..R15. */
#define GO_PARAM1(ctx) ((ctx)->regs[0])
#define GO_PARAM2(ctx) ((ctx)->regs[1])
#define GO_PARAM3(ctx) ((ctx)->regs[2])
#else
#error "unsupported architecture: define __TARGET_ARCH_x86 or __TARGET_ARCH_arm64"
#endif
