#!/usr/bin/env bash
# Usage (from a guest's build script): ../lib/build-guest.sh NAME file.c [file.S ...]
# Compiles with the lib runtime and links at the QEMU virt RAM base; writes NAME.elf.
set -euo pipefail
name=$1; shift
lib=$(cd "$(dirname "$0")" && pwd)
CROSS=${CROSS:-aarch64-linux-gnu-}
CFLAGS="-O2 -g0 -ffreestanding -fno-builtin -nostdlib -nostartfiles -mgeneral-regs-only -mstrict-align -fno-pie -no-pie -fno-stack-protector -fno-asynchronous-unwind-tables -ffile-prefix-map=$lib=lib -ffile-prefix-map=$PWD=. -I$lib"
"${CROSS}gcc" $CFLAGS -Wl,--build-id=none -Wl,-z,max-page-size=4096 -Wl,-T,"$lib/guest.ld" -o "$name.elf" "$lib/start.S" "$lib/guest.c" "$@" -lgcc
"${CROSS}strip" --strip-debug "$name.elf"
