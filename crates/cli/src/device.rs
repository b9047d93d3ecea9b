//! Which backend a command runs on (`--device cpu|cuda`).

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DeviceKind {
    /// burn's `flex` CPU backend.
    #[default]
    Cpu,
    /// NVIDIA GPU through burn's CUDA backend (binary built with `--features cuda`).
    Cuda,
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
            $crate::device::DeviceKind::Cuda => Err(anyhow::anyhow!(
                "this rankforge was built without GPU support: rebuild with `cargo build --release --features cuda`"
            )),
        }
    };
}
