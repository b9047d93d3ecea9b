//! Learning-rate schedule: linear warmup from 0 to the peak, then linear, cosine or constant.

use serde::{Deserialize, Serialize};

use crate::config::ScheduleKind;

/// The learning rate of every optimizer step of a run. Pure function of the step, so it needs
/// no state in a checkpoint beyond the step counter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LrSchedule {
    pub peak: f64,
    pub warmup_steps: usize,
    pub total_steps: usize,
    pub kind: ScheduleKind,
}

impl LrSchedule {
    /// Learning rate of optimizer step `step` (0-based). During warmup step `s` gets
    /// `peak·(s+1)/warmup` (so the first step is not wasted at lr 0); afterwards the decay
    /// reaches 0 after the last step.
    pub fn lr(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            return self.peak * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let decay_steps = self.total_steps.saturating_sub(self.warmup_steps).max(1) as f64;
        let progress = ((step - self.warmup_steps) as f64 / decay_steps).clamp(0.0, 1.0);
        match self.kind {
            ScheduleKind::Constant => self.peak,
            ScheduleKind::Linear => self.peak * (1.0 - progress),
            ScheduleKind::Cosine => {
                self.peak * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(kind: ScheduleKind) -> LrSchedule {
        LrSchedule {
            peak: 1.0,
            warmup_steps: 4,
            total_steps: 14,
            kind,
        }
    }

    #[test]
    fn warmup_rises_linearly_to_the_peak() {
        let s = schedule(ScheduleKind::Linear);
        let lrs: Vec<f64> = (0..4).map(|i| s.lr(i)).collect();
        assert_eq!(lrs, vec![0.25, 0.5, 0.75, 1.0]);
    }

    #[test]
    fn linear_and_cosine_decay_to_zero() {
        let linear = schedule(ScheduleKind::Linear);
        assert_eq!(linear.lr(4), 1.0);
        assert!((linear.lr(9) - 0.5).abs() < 1e-12);
        assert_eq!(linear.lr(14), 0.0);
        let cosine = schedule(ScheduleKind::Cosine);
        assert!((cosine.lr(9) - 0.5).abs() < 1e-12);
        assert!(cosine.lr(6) > linear.lr(6));
        assert!(cosine.lr(14).abs() < 1e-12);
        assert_eq!(schedule(ScheduleKind::Constant).lr(13), 1.0);
    }
}
