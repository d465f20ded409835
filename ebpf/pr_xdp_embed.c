// SPDX-License-Identifier: Apache-2.0
/*
 * The compiled XDP programs as read-only bytes of the binary, opened with
 * bpf_object__open_mem() by dataplane/rx/pr_rx_afxdp.c. The build passes
 * the object's path (PR_XDP_CAPTURE_OBJ_PATH) and rebuilds this file when
 * the object changes.
 */
__asm__(".section .rodata\n"
	".global pr_xdp_capture_obj\n"
	".type pr_xdp_capture_obj, @object\n"
	".balign 8\n"
	"pr_xdp_capture_obj:\n"
	".incbin \"" PR_XDP_CAPTURE_OBJ_PATH "\"\n"
	"pr_xdp_capture_obj_end:\n"
	".size pr_xdp_capture_obj, pr_xdp_capture_obj_end - pr_xdp_capture_obj\n"
	".global pr_xdp_capture_obj_size\n"
	".type pr_xdp_capture_obj_size, @object\n"
	".balign 8\n"
	"pr_xdp_capture_obj_size:\n"
	".quad pr_xdp_capture_obj_end - pr_xdp_capture_obj\n"
	".size pr_xdp_capture_obj_size, 8\n"
	".previous\n");
