//! Matrix products over strided views of plain `f32` slices, for the CPU kernels that read
//! their operands where they lie ([`crate::attention_inference`], [`crate::attention_training`],
//! [`crate::linear`]): a head of a `[batch · seq, hidden]` projection, a transpose, a
//! row block. One entry point, [`gemm_into`], around the `gemm` crate (the GEMM burn-flex
//! itself uses, same version), with every bound it relies on asserted first; its `unsafe`
//! call is the only one in the crate.

/// A strided matrix inside a slice: element `(i, j)` at `offset + i · row_stride + j · col_stride`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct View {
    pub offset: usize,
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl View {
    pub fn row_major(offset: usize, rows: usize, cols: usize, row_stride: usize) -> Self {
        Self {
            offset,
            rows,
            cols,
            row_stride,
            col_stride: 1,
        }
    }

    /// A dense row-major `[rows, cols]` matrix from the slice's start.
    pub fn dense(rows: usize, cols: usize) -> Self {
        Self::row_major(0, rows, cols, cols)
    }

    /// The same elements read as the transpose.
    pub fn transposed(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// Index of the last element (the view is non-empty).
    fn last(&self) -> usize {
        self.offset + (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride
    }

    /// Whether distinct `(i, j)` land on distinct elements (needed of a destination).
    fn is_injective(&self) -> bool {
        (self.col_stride >= 1 && self.row_stride >= self.cols * self.col_stride)
            || (self.row_stride >= 1 && self.col_stride >= self.rows * self.row_stride)
    }
}

/// How the destination's previous values enter the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accumulate {
    /// `dst ← scale · lhs · rhs`: the destination is only written.
    Overwrite,
    /// `dst ← dst + scale · lhs · rhs` (e.g. over a destination pre-filled with a bias).
    Add,
}

/// Whether one product uses rayon's pool (large products) or the calling thread (products
/// that already run inside a parallel loop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Threads {
    Calling,
    Pool,
}

/// `dst (view d) ← scale · lhs (view l) · rhs (view r)`, or added to `dst` (see [`Accumulate`]).
/// The inner dimension may be 0 (an empty sum: the destination becomes or stays as if added 0).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_into(
    dst: &mut [f32],
    d: View,
    lhs: &[f32],
    l: View,
    rhs: &[f32],
    r: View,
    scale: f32,
    accumulate: Accumulate,
    threads: Threads,
) {
    assert!(
        l.rows == d.rows && r.cols == d.cols && l.cols == r.rows,
        "product shapes: {l:?} · {r:?} → {d:?}"
    );
    if d.rows == 0 || d.cols == 0 {
        return;
    }
    assert!(d.last() < dst.len(), "destination view inside its buffer");
    assert!(d.is_injective(), "destination elements are distinct");
    if l.cols == 0 {
        if accumulate == Accumulate::Overwrite {
            for i in 0..d.rows {
                for j in 0..d.cols {
                    dst[d.offset + i * d.row_stride + j * d.col_stride] = 0.0;
                }
            }
        }
        return;
    }
    assert!(
        l.last() < lhs.len() && r.last() < rhs.len(),
        "operand views inside their buffers"
    );
    let stride = |s: usize| isize::try_from(s).expect("stride fits isize");
    let parallelism = match threads {
        Threads::Calling => gemm::Parallelism::None,
        Threads::Pool => gemm::Parallelism::Rayon(0),
    };
    let read_dst = accumulate == Accumulate::Add;
    // SAFETY: the asserts above keep every element gemm reads (the `lhs` and `rhs` views, and
    // the `dst` view when accumulating) or writes (the `dst` view) inside its slice, since all
    // strides are non-negative and the last element of each non-empty view is in bounds; the
    // destination view never writes one element twice; `dst` is a unique borrow, so it aliases
    // neither input. With `read_dst = false` the destination's previous values (and `alpha`)
    // are not used; with it, `alpha = 1` keeps them.
    unsafe {
        gemm::gemm(
            d.rows,
            d.cols,
            l.cols,
            dst.as_mut_ptr().add(d.offset),
            stride(d.col_stride),
            stride(d.row_stride),
            read_dst,
            lhs.as_ptr().add(l.offset),
            stride(l.col_stride),
            stride(l.row_stride),
            rhs.as_ptr().add(r.offset),
            stride(r.col_stride),
            stride(r.row_stride),
            1.0,
            scale,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The product element by element.
    fn naive(l: &[f32], lv: View, r: &[f32], rv: View) -> Vec<f32> {
        let at = |s: &[f32], v: View, i: usize, j: usize| {
            s[v.offset + i * v.row_stride + j * v.col_stride]
        };
        let mut out = vec![0.0; lv.rows * rv.cols];
        for i in 0..lv.rows {
            for j in 0..rv.cols {
                out[i * rv.cols + j] = (0..lv.cols)
                    .map(|k| at(l, lv, i, k) * at(r, rv, k, j))
                    .sum();
            }
        }
        out
    }

    #[test]
    fn strided_and_transposed_views_multiply_like_the_naive_product() {
        let values: Vec<f32> = (0..200).map(|i| ((i * 37) % 23) as f32 - 11.0).collect();
        // A 4×3 block at offset 5 with row stride 10, times the transpose of a 5×3 block.
        let l = View::row_major(5, 4, 3, 10);
        let r = View::row_major(60, 5, 3, 7).transposed();
        let expected = naive(&values, l, &values, r);
        for threads in [Threads::Calling, Threads::Pool] {
            let mut dst = vec![f32::NAN; 4 * 5];
            gemm_into(
                &mut dst,
                View::dense(4, 5),
                &values,
                l,
                &values,
                r,
                1.0,
                Accumulate::Overwrite,
                threads,
            );
            assert_eq!(dst, expected);
            let mut acc = vec![1.0; 4 * 5];
            gemm_into(
                &mut acc,
                View::dense(4, 5),
                &values,
                l,
                &values,
                r,
                0.5,
                Accumulate::Add,
                threads,
            );
            let want: Vec<f32> = expected.iter().map(|e| 1.0 + 0.5 * e).collect();
            assert_eq!(acc, want);
        }
    }

    #[test]
    fn an_empty_inner_dimension_is_a_zero_product() {
        // Adding an empty sum keeps the destination; overwriting with it gives zeros.
        for (accumulate, expected) in [(Accumulate::Add, 3.0), (Accumulate::Overwrite, 0.0)] {
            let mut dst = vec![3.0; 6];
            gemm_into(
                &mut dst,
                View::dense(2, 3),
                &[],
                View::dense(2, 0),
                &[],
                View::dense(0, 3),
                1.0,
                accumulate,
                Threads::Calling,
            );
            assert_eq!(dst, vec![expected; 6], "{accumulate:?}");
        }
    }

    #[test]
    #[should_panic(expected = "inside its buffer")]
    fn a_view_past_its_buffer_is_refused() {
        let mut dst = vec![0.0; 3];
        gemm_into(
            &mut dst,
            View::dense(2, 2),
            &[1.0; 4],
            View::dense(2, 2),
            &[1.0; 4],
            View::dense(2, 2),
            1.0,
            Accumulate::Overwrite,
            Threads::Calling,
        );
    }
}
