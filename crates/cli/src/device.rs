//! Which backend a command runs on (`--device cpu|cuda|wgpu`).

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DeviceKind {
    /// burn's `flex` CPU backend.
    #[default]
    Cpu,
    /// NVIDIA GPU through burn's CUDA backend (binary built with `--features cuda`).
    Cuda,
    /// Any GPU through burn's wgpu backend: Vulkan, Metal or DX12 (binary built with
    /// `--features wgpu`). Runs the same cubecl kernels as `cuda`; without a GPU, on Mesa's
    /// lavapipe software Vulkan driver (`bash scripts/install_vulkan.sh`).
    Wgpu,
}

/// The error for a device whose backend this binary was built without.
pub fn not_built(feature: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "this rankforge was built without the `{feature}` backend: rebuild with `cargo build --release --features {feature}`"
    )
}

/// Runs `$func::<Backend>(&device, args...)` on the backend `$kind` names.
#[macro_export]
macro_rules! on_device {
    ($kind:expr, $func:ident ( $($arg:expr),* $(,)? )) => {
        match $kind {
            $crate::device::DeviceKind::Cpu => {
                $func::<rankforge_model::backend::Cpu>(&Default::default(), $($arg),*)
            }
            #[cfg(feature = "cuda")]
            $crate::device::DeviceKind::Cuda => {
                $func::<rankforge_model::backend::Cuda>(&Default::default(), $($arg),*)
            }
            #[cfg(not(feature = "cuda"))]
            $crate::device::DeviceKind::Cuda => Err($crate::device::not_built("cuda")),
            #[cfg(feature = "wgpu")]
            $crate::device::DeviceKind::Wgpu => {
                $func::<rankforge_model::backend::Wgpu>(&Default::default(), $($arg),*)
            }
            #[cfg(not(feature = "wgpu"))]
            $crate::device::DeviceKind::Wgpu => Err($crate::device::not_built("wgpu")),
        }
    };
}
