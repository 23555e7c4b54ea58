/* Exit statuses of ./vmm. docs/abi.md and `./vmm --help` list the same table.
 * A guest that exits itself gives its own code (code & 0xff); guests should use 0..63. */
#ifndef PW_HOST_STATUS_H
#define PW_HOST_STATUS_H

enum pw_status {
	PW_STATUS_USAGE = 64,	      /* bad command line */
	PW_STATUS_IMAGE = 65,	      /* the image file is missing, unreadable or malformed */
	PW_STATUS_KVM = 69,	      /* /dev/kvm missing, not accessible, or too old */
	PW_STATUS_INTERNAL = 70,      /* a KVM call failed, or KVM reported an internal error */
	PW_STATUS_CRASH = 75,	      /* the guest crashed (PW_EXIT_CRASHED, which a PVH guest uses) */
	PW_STATUS_BAD_HYPERCALL = 76, /* the guest broke the hypercall ABI */
	PW_STATUS_LIMIT = 77,         /* --console-limit or --max-exits exceeded */
	PW_STATUS_KILLED = 78,	      /* gdb killed the guest (--gdb) */
	PW_STATUS_TIMEOUT = 124,      /* --timeout expired */
};

#endif
