//! The host buffers of burn-flex tensors, for the CPU kernels rankforge writes itself
//! ([`crate::gelu`], [`crate::attention_training`], [`crate::attention_inference`],
//! [`crate::linear`], [`crate::layer_norm`], and the trainer's AdamW update).

use std::borrow::Cow;

use burn::tensor::TensorData;
use burn_flex::FlexTensor;

/// Contiguous f32 values of a flex tensor (copied only when it is a strided view).
pub fn values(tensor: &FlexTensor) -> Cow<'_, [f32]> {
    match tensor.as_slice::<f32>() {
        Some(values) => Cow::Borrowed(values),
        None => Cow::Owned(
            tensor
                .to_contiguous()
                .as_slice::<f32>()
                .expect("contiguous f32")
                .to_vec(),
        ),
    }
}

/// The values of a tensor that may be overwritten: sole owner, contiguous from offset 0.
pub fn owned_contiguous(tensor: &mut FlexTensor) -> Option<&mut [f32]> {
    let n = tensor.layout().num_elements();
    let owned = tensor.is_unique()
        && tensor.layout().is_contiguous()
        && tensor.layout().start_offset() == 0;
    owned
        .then(|| tensor.try_storage_mut::<f32>())
        .flatten()
        .map(|values| &mut values[..n])
}

/// Runs `update` over the values of `tensor`: in its own buffer when that may be overwritten
/// ([`owned_contiguous`]), else over a contiguous copy. The updated tensor back.
pub fn update_values(mut tensor: FlexTensor, update: impl FnOnce(&mut [f32])) -> FlexTensor {
    if let Some(values) = owned_contiguous(&mut tensor) {
        update(values);
        return tensor;
    }
    let mut copy = values(&tensor).into_owned();
    update(&mut copy);
    shaped_like(copy, &tensor)
}

/// A flex tensor of `values` shaped like `like`.
pub fn shaped_like(values: Vec<f32>, like: &FlexTensor) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, like.layout().shape().clone()))
}
