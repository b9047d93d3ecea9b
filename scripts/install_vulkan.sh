#!/usr/bin/env bash
# Installs a Vulkan driver for burn's wgpu backend when the machine has none: Mesa's lavapipe
# (Debian `mesa-vulkan-drivers`, a conformant software Vulkan 1.3 driver running on the CPU)
# and the Vulkan loader. With it, `--device wgpu` runs the cubecl kernels a GPU runs, on any
# machine. Needs root (apt-get) unless the packages are already there.
#   usage: bash scripts/install_vulkan.sh
set -euo pipefail
if ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 && ldconfig -p | grep -q 'libvulkan.so.1'; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install_vulkan.sh: run as root, or: sudo apt-get install mesa-vulkan-drivers libvulkan1" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends mesa-vulkan-drivers libvulkan1 >/dev/null
