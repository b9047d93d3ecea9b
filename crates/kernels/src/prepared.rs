//! Weights of token-wise `Linear` layers prepared once for the CPU int8 and bf16 kernels
//! ([`crate::int8_gemm`], [`crate::bf16_gemm`]), found at run time by the parameter's id.
//!
//! [`crate::precision::cast_module`] with `Int8` (or `Bf16` on a CPU with AVX512_BF16) on the
//! `Flex` backend walks the module, gives every eligible `Linear` weight a fresh [`ParamId`]
//! and registers its quantized (or bf16) packing under that id here; the f32 tensor stays in
//! the module, so the module's shape, saving and every other backend are unchanged.
//! [`crate::linear_param`] looks the id up and runs the prepared kernel; a weight without an
//! entry (training, f32 models, other backends) takes [`crate::linear`]. Fresh ids keep a
//! prepared model from ever sharing an entry with the f32 module it was made from (ids only
//! matter to gradients, and prepared modules are inference-only).
//!
//! The registry lives for the process: a prepared weight costs ¼ (int8) or ½ (bf16) of its f32
//! bytes, and processes load a model once (tests load a few small ones).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use burn::module::ParamId;

use crate::bf16_gemm::Bf16Weight;
use crate::int8_gemm::Int8Weight;

/// A weight packed for one of the reduced-precision kernels.
#[derive(Debug)]
pub enum Prepared {
    Int8(Int8Weight),
    Bf16(Bf16Weight),
}

static ANY: AtomicBool = AtomicBool::new(false);

fn registry() -> &'static RwLock<HashMap<ParamId, Arc<Prepared>>> {
    static REGISTRY: OnceLock<RwLock<HashMap<ParamId, Arc<Prepared>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// Registers `prepared` for the weight with id `id`.
pub(crate) fn register(id: ParamId, prepared: Prepared) {
    registry()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, Arc::new(prepared));
    ANY.store(true, Ordering::Release);
}

/// The prepared weight of `id`, if any (one atomic load when nothing was ever prepared).
pub(crate) fn lookup(id: &ParamId) -> Option<Arc<Prepared>> {
    if !ANY.load(Ordering::Acquire) {
        return None;
    }
    registry()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(id)
        .cloned()
}

/// What the weight with id `id` runs as: `"int8"`, `"bf16"`, or `None` (f32 / burn's path).
pub fn prepared_kind(id: &ParamId) -> Option<&'static str> {
    lookup(id).map(|p| match *p {
        Prepared::Int8(_) => "int8",
        Prepared::Bf16(_) => "bf16",
    })
}
