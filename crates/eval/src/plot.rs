//! Small PNG charts for reports: grouped bars (systems × metrics) and line plots (training loss
//! against step, metrics against epoch).
//!
//! Drawn with `plotters`' bitmap backend; text uses DejaVu Sans embedded in the binary (the
//! `dejavu` crate, registered through plotters' `ab_glyph` feature), so no system font or
//! fontconfig is needed.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::compare::Comparison;
use crate::error::{EvalError, Result};
use crate::evaluate::Evaluation;

/// Colour-blind-friendly palette (Okabe & Ito 2008), cycled through series.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

const FONT: &str = "sans-serif";
const MIN_SIDE: u32 = 200;
const MAX_SIDE: u32 = 8192;

fn color(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// Registers the embedded DejaVu Sans as plotters' "sans-serif" (once per process).
fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
                .map_err(|_| "the embedded DejaVu Sans font could not be loaded".to_string())
        })
        .clone()
        .map_err(EvalError::InvalidChart)
}

/// What [`BarChart`] and [`LinePlot`] have in common: a size, a check of their data, and
/// drawing onto any plotters backend.
trait Chart {
    fn size(&self) -> (u32, u32);

    /// Whether the data can be drawn (the size is checked by [`write_png`]).
    fn validate(&self) -> Result<()>;

    /// Draws onto `root`, already filled white.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>>;
}

/// Checks `chart` and draws it into a PNG file at `path` (atomically: drawn into a temporary
/// sibling that replaces `path` once complete).
fn write_png(chart: &impl Chart, path: &Path) -> Result<()> {
    let (width, height) = chart.size();
    check_size(width, height)?;
    chart.validate()?;
    ensure_font()?;
    rankforge_data::atomic::write_via_temp_path(
        path,
        |e| EvalError::io(path, e),
        |tmp| {
            let root = BitMapBackend::new(tmp, (width, height)).into_drawing_area();
            root.fill(&WHITE)
                .and_then(|()| chart.draw(&root))
                .map_err(|e| EvalError::plot(path, e))?;
            root.present().map_err(|e| EvalError::plot(path, e))
        },
    )
}

/// One series of bars: a value for each group.
#[derive(Debug, Clone, PartialEq)]
pub struct BarSeries {
    pub name: String,
    pub values: Vec<f64>,
}

/// Grouped bars: one group per x-axis category (e.g. a metric), one bar per series in each
/// (e.g. a system), with a legend naming the series.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    pub title: String,
    pub y_label: String,
    /// Category names along the x axis.
    pub groups: Vec<String>,
    pub series: Vec<BarSeries>,
    /// Image size in pixels (200 to 8192 each).
    pub width: u32,
    pub height: u32,
    /// Print each bar's value above it (when the bars are wide enough to hold it).
    pub show_values: bool,
}

impl BarChart {
    /// An 900 × 500 chart with value labels and no series yet.
    pub fn new(title: impl Into<String>, groups: Vec<String>) -> Self {
        Self {
            title: title.into(),
            y_label: String::new(),
            groups,
            series: Vec::new(),
            width: 900,
            height: 500,
            show_values: true,
        }
    }

    /// Adds a series (one value per group).
    pub fn with_series(mut self, name: impl Into<String>, values: Vec<f64>) -> Self {
        self.series.push(BarSeries {
            name: name.into(),
            values,
        });
        self
    }

    pub fn with_y_label(mut self, y_label: impl Into<String>) -> Self {
        self.y_label = y_label.into();
        self
    }

    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// Draws the chart into a PNG file at `path`.
    pub fn write_png(&self, path: impl AsRef<Path>) -> Result<()> {
        write_png(self, path.as_ref())
    }
}

impl Chart for BarChart {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn validate(&self) -> Result<()> {
        if self.groups.is_empty() {
            return Err(EvalError::InvalidChart(
                "a bar chart needs at least one group".into(),
            ));
        }
        if self.series.is_empty() {
            return Err(EvalError::InvalidChart(
                "a bar chart needs at least one series".into(),
            ));
        }
        for series in &self.series {
            if series.values.len() != self.groups.len() {
                return Err(EvalError::InvalidChart(format!(
                    "series `{}` has {} values for {} groups",
                    series.name,
                    series.values.len(),
                    self.groups.len()
                )));
            }
            if let Some(v) = series.values.iter().find(|v| !v.is_finite()) {
                return Err(EvalError::InvalidChart(format!(
                    "series `{}` has a non-finite value ({v})",
                    series.name
                )));
            }
        }
        Ok(())
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let values = self.series.iter().flat_map(|s| s.values.iter().copied());
        let (low, high) = values.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let span = if high > low { high - low } else { 1.0 };
        // Headroom above the bars for value labels and the legend.
        let y_range = (if low < 0.0 { low - 0.08 * span } else { 0.0 })..(high + 0.25 * span);
        let num_groups = self.groups.len();

        let y_format = number_formatter(y_range.end - y_range.start);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 22))
            .margin(14)
            .margin_right(24)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..num_groups as f64, y_range.clone())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_label_formatter(&y_format)
            .y_max_light_lines(1)
            .y_desc(self.y_label.as_str())
            .y_label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()?;
        if low < 0.0 {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(0.0, 0.0), (num_groups as f64, 0.0)],
                BLACK.stroke_width(1),
            )))?;
        }

        let num_series = self.series.len();
        let bar_width = 0.8 / num_series as f64;
        let plot_pixels = chart.plotting_area().dim_in_pixel().0 as f64;
        let bar_pixels = plot_pixels / num_groups as f64 * bar_width;
        let value_size = (bar_pixels / 3.5).clamp(12.0, 14.0);
        let show_values = self.show_values && bar_pixels >= 32.0;
        let bar_left = |group: usize, series: usize| group as f64 + 0.1 + series as f64 * bar_width;

        for (s, series) in self.series.iter().enumerate() {
            let fill = color(s);
            let bars = series.values.iter().enumerate().map(move |(g, &v)| {
                let x0 = bar_left(g, s);
                Rectangle::new([(x0, 0.0), (x0 + bar_width * 0.92, v)], fill.filled())
            });
            chart
                .draw_series(bars)?
                .label(series.name.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], fill.filled()));
            if show_values {
                // Placed in pixels, 4 px off the bar's end, above it (below for negative bars).
                for (g, &v) in series.values.iter().enumerate() {
                    let (x, y) = chart.backend_coord(&(bar_left(g, s) + bar_width * 0.46, v));
                    let (anchor, y) = if v >= 0.0 {
                        (VPos::Bottom, y - 4)
                    } else {
                        (VPos::Top, y + 4)
                    };
                    let style = (FONT, value_size)
                        .into_font()
                        .into_text_style(root)
                        .pos(Pos::new(HPos::Center, anchor));
                    root.draw(&Text::new(format!("{v:.3}"), (x, y), style))?;
                }
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(190, 190, 190))
            .draw()?;

        // Group names under the x axis, centred on each group.
        let label_style = (FONT, 15)
            .into_font()
            .into_text_style(root)
            .pos(Pos::new(HPos::Center, VPos::Top));
        for (g, group) in self.groups.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(g as f64 + 0.5, y_range.start));
            root.draw(&Text::new(group.as_str(), (x, y + 8), label_style.clone()))?;
        }
        Ok(())
    }
}

/// One line: (x, y) points, drawn in the given order.
#[derive(Debug, Clone, PartialEq)]
pub struct LineSeries {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// Lines on shared axes, e.g. training loss against step, with a legend.
#[derive(Debug, Clone, PartialEq)]
pub struct LinePlot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<LineSeries>,
    /// Image size in pixels (200 to 8192 each).
    pub width: u32,
    pub height: u32,
}

impl LinePlot {
    /// A 900 × 500 plot with no series yet.
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            series: Vec::new(),
            width: 900,
            height: 500,
        }
    }

    /// Adds a line.
    pub fn with_series(mut self, name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        self.series.push(LineSeries {
            name: name.into(),
            points,
        });
        self
    }

    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// Draws the plot into a PNG file at `path`.
    pub fn write_png(&self, path: impl AsRef<Path>) -> Result<()> {
        write_png(self, path.as_ref())
    }
}

impl Chart for LinePlot {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn validate(&self) -> Result<()> {
        if self.series.iter().all(|s| s.points.is_empty()) {
            return Err(EvalError::InvalidChart(
                "a line plot needs at least one point".into(),
            ));
        }
        for series in &self.series {
            if let Some((x, y)) = series
                .points
                .iter()
                .find(|(x, y)| !x.is_finite() || !y.is_finite())
            {
                return Err(EvalError::InvalidChart(format!(
                    "series `{}` has a non-finite point ({x}, {y})",
                    series.name
                )));
            }
        }
        Ok(())
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let points = || self.series.iter().flat_map(|s| s.points.iter().copied());
        let x_range = padded_range(points().map(|(x, _)| x), 0.0);
        let y_range = padded_range(points().map(|(_, y)| y), 0.05);

        let x_format = number_formatter(x_range.end - x_range.start);
        let y_format = number_formatter(y_range.end - y_range.start);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 22))
            .margin(14)
            .margin_right(30)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(x_range, y_range)?;
        chart
            .configure_mesh()
            .x_label_formatter(&x_format)
            .y_label_formatter(&y_format)
            .max_light_lines(1)
            .bold_line_style(RGBColor(215, 215, 215))
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;

        for (s, series) in self.series.iter().enumerate() {
            let stroke = color(s).stroke_width(2);
            chart
                .draw_series(plotters::series::LineSeries::new(
                    series.points.iter().copied(),
                    stroke,
                ))?
                .label(series.name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], stroke));
            if series.points.len() <= 40 {
                let marker = color(s).filled();
                chart.draw_series(
                    series
                        .points
                        .iter()
                        .map(|&point| Circle::new(point, 3, marker)),
                )?;
            }
        }
        if self.series.iter().any(|s| !s.name.is_empty()) {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .label_font((FONT, 14))
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(190, 190, 190))
                .draw()?;
        }
        Ok(())
    }
}

/// min..max of `values`, widened by `pad` × span on both sides (by 0.5 when all are equal).
fn padded_range(values: impl Iterator<Item = f64>, pad: f64) -> std::ops::Range<f64> {
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if high > low {
        let margin = pad * (high - low);
        (low - margin)..(high + margin)
    } else {
        (low - 0.5)..(high + 0.5)
    }
}

/// Axis labels with as many decimals as an axis spanning `span` needs, trailing zeros dropped
/// (`200`, not `200.0`; `0.25`, not `0.250`).
fn number_formatter(span: f64) -> impl Fn(&f64) -> String {
    let decimals = (2.0 - span.log10().floor()).clamp(0.0, 12.0) as usize;
    move |value: &f64| {
        let text = format!("{value:.decimals$}");
        let text = if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.')
        } else {
            &text
        };
        if text == "-0" {
            "0".to_string()
        } else {
            text.to_string()
        }
    }
}

fn check_size(width: u32, height: u32) -> Result<()> {
    let ok = |side: u32| (MIN_SIDE..=MAX_SIDE).contains(&side);
    if ok(width) && ok(height) {
        Ok(())
    } else {
        Err(EvalError::InvalidChart(format!(
            "image size {width}×{height} is outside {MIN_SIDE}..={MAX_SIDE} pixels per side"
        )))
    }
}

impl Comparison {
    /// Grouped bars of the means: one group per metric, one bar per system.
    pub fn bar_chart(&self, title: impl Into<String>) -> BarChart {
        let groups = self.metrics.iter().map(ToString::to_string).collect();
        self.systems
            .iter()
            .enumerate()
            .fold(BarChart::new(title, groups), |chart, (s, system)| {
                let means = self.rows.iter().map(|row| row.systems[s].mean).collect();
                chart.with_series(system.clone(), means)
            })
            .with_y_label("mean over queries")
    }
}

impl Evaluation {
    /// Bars of the means, one per metric, for a single system named `system`.
    pub fn bar_chart(&self, title: impl Into<String>, system: impl Into<String>) -> BarChart {
        let groups = self.metrics().iter().map(ToString::to_string).collect();
        let means = self.means().map(|(_, mean)| mean).collect();
        BarChart::new(title, groups)
            .with_series(system, means)
            .with_y_label("mean over queries")
    }
}
