#!/usr/bin/env bash
# Usage (from a guest's build script): ../lib/build-guest.sh NAME file.c [file.S ...]
# Compiles with the lib runtime and links at the QEMU virt RAM base; writes NAME.elf.
# Integer-only by default (-mgeneral-regs-only; FP/SIMD stays disabled). With
# GUEST_FP=1 the guest may use FP/SIMD: it is compiled without
# -mgeneral-regs-only and start.S (built with -DGUEST_FP) enables FP/SIMD at
# EL1 and EL0 (CPACR_EL1.FPEN = 0b11) before any C code runs. GUEST_CFLAGS
# adds options (e.g. -march=armv8-a+crypto).
set -euo pipefail
name=$1; shift
lib=$(cd "$(dirname "$0")" && pwd)
CROSS=${CROSS:-aarch64-linux-gnu-}
if [ "${GUEST_FP:-0}" = 1 ]; then FPFLAGS="-DGUEST_FP"; else FPFLAGS="-mgeneral-regs-only"; fi
CFLAGS="-O2 -g0 -ffreestanding -fno-builtin -nostdlib -nostartfiles $FPFLAGS -mstrict-align -fno-pie -no-pie -fno-stack-protector -fno-asynchronous-unwind-tables -ffile-prefix-map=$lib=lib -ffile-prefix-map=$PWD=. -I$lib ${GUEST_CFLAGS:-}"
"${CROSS}gcc" $CFLAGS -Wl,--build-id=none -Wl,-z,max-page-size=4096 -Wl,-T,"$lib/guest.ld" -o "$name.elf" "$lib/start.S" "$lib/guest.c" "$@" -lgcc
"${CROSS}strip" --strip-debug "$name.elf"
