//! The backends rankforge is built with, and the guard for sections that seed and draw from
//! burn's process-wide CPU RNG.

/// CPU: burn's `flex` backend.
pub type Cpu = burn::backend::Flex;
pub type CpuAutodiff = burn::backend::Autodiff<Cpu>;
/// NVIDIA GPUs (feature `cuda`).
#[cfg(feature = "cuda")]
pub type Cuda = burn::backend::Cuda;
#[cfg(feature = "cuda")]
pub type CudaAutodiff = burn::backend::Autodiff<Cuda>;
/// Any GPU wgpu drives (Vulkan, Metal, DX12; feature `wgpu`): burn's cubecl kernels and
/// fusion, the code path of `Cuda`, also on a software Vulkan driver (lavapipe) without a GPU.
#[cfg(feature = "wgpu")]
pub type Wgpu = burn::backend::Wgpu;
#[cfg(feature = "wgpu")]
pub type WgpuAutodiff = burn::backend::Autodiff<Wgpu>;

/// Bytes one tensor may hold on the devices of backend `B` and still be computed correctly, where
/// the backend has such a limit. wgpu binds each tensor as one storage buffer, and a binding
/// larger than the device allows is computed wrongly without an error (measured on lavapipe:
/// BENCHMARKS.md); 128 MiB is wgpu's default `max_storage_buffer_binding_size` and lavapipe's
/// hardware limit. CPU (host memory) and CUDA (raw device pointers) have none.
pub fn max_tensor_bytes<B: burn::tensor::backend::Backend>() -> Option<usize> {
    #[cfg(feature = "wgpu")]
    {
        use std::any::TypeId;
        let b = TypeId::of::<B>();
        if b == TypeId::of::<Wgpu>() || b == TypeId::of::<WgpuAutodiff>() {
            return Some(WGPU_MAX_BINDING_BYTES);
        }
    }
    None
}

/// wgpu's default (and lavapipe's) storage-buffer binding limit.
pub const WGPU_MAX_BINDING_BYTES: usize = 128 << 20;

use std::sync::{Mutex, MutexGuard};

static SEEDED_RNG: Mutex<()> = Mutex::new(());

/// burn's CPU backend keeps one process-wide RNG (`B::seed`, `Tensor::random` and the
/// dropout masks all draw from it). Code that seeds it and then draws (a training step,
/// a test building random inputs) holds this guard for the whole section, so draws from
/// threads of the same process (parallel tests) never interleave with it.
pub fn seeded_rng_section() -> MutexGuard<'static, ()> {
    SEEDED_RNG
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
