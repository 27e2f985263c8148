//! The chart: speedup against workers on the 10 ms CPU workload, and the per-task overhead of
//! each tool, as one SVG.

use std::error::Error;
use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;

use crate::report::{JOBLIB, OTHERS, POOL, PPE, TOOLS, figure, headline, sig3};
use crate::rust_side::{PAR_MAP, PROCESS, RAYON, SOCKET, THREADS};

const FONT: &str = "sans-serif";

fn color(tool: &str) -> RGBColor {
    match tool {
        POOL => RGBColor(214, 96, 77),
        PPE => RGBColor(244, 165, 130),
        JOBLIB => RGBColor(150, 110, 60),
        PROCESS => RGBColor(33, 102, 172),
        PAR_MAP => RGBColor(103, 169, 207),
        SOCKET => RGBColor(146, 197, 222),
        RAYON => RGBColor(27, 120, 55),
        THREADS => RGBColor(127, 188, 65),
        _ => RGBColor(120, 120, 120),
    }
}

/// Draws both panels into `path`.
pub fn draw(records: &[Value], machine: &Value, path: &Path) -> Result<(), Box<dyn Error>> {
    let root = SVGBackend::new(path, (1280, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!(
        "parallel vs Python process pools · {} cores, {} · {}",
        machine["cores"],
        machine["cpu"].as_str().unwrap_or("?"),
        machine["date"].as_str().unwrap_or("")
    );
    let body = root.titled(&title, (FONT, 20))?;
    let (left, right) = body.split_horizontally(560);
    speedup(records, &left)?;
    overhead(records, &right)?;
    root.present()?;
    Ok(())
}

/// Left: speedup against a serial loop in the same language, for each worker count.
fn speedup(
    records: &[Value],
    area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
) -> Result<(), Box<dyn Error>> {
    let cpu: Vec<&Value> = records
        .iter()
        .filter(|r| r["workload"] == "cpu" && r["tool"] != "serial")
        .collect();
    let mut workers: Vec<u64> = cpu.iter().filter_map(|r| r["workers"].as_u64()).collect();
    workers.sort_unstable();
    workers.dedup();
    let most = workers.last().copied().unwrap_or(2).max(2) as f64;
    let top = cpu
        .iter()
        .filter_map(|r| figure(r, records))
        .fold(most, f64::max)
        * 1.1;
    let calls = cpu.first().and_then(|r| r["calls"].as_u64()).unwrap_or(200);
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("Speedup on {calls} × 10 ms CPU tasks (vs serial, same language)"),
            (FONT, 17),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d(0.8..most + 0.2, 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc("workers")
        .y_desc("speedup ×")
        // Plain f64 axes (key-point axes cannot format labels): name whole worker counts only.
        .x_labels(workers.len().max(2))
        .x_label_formatter(&|w| {
            if (w - w.round()).abs() < 0.01 {
                format!("{w:.0}")
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|s| format!("{s:.1}"))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()?;
    chart
        .draw_series(DashedLineSeries::new(
            [(1.0, 1.0), (most, most)],
            6,
            4,
            BLACK.mix(0.5).stroke_width(1),
        ))?
        .label("ideal")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.5)));
    for tool in [PROCESS, RAYON, POOL, PPE, JOBLIB] {
        let mut points: Vec<(f64, f64)> = cpu
            .iter()
            .filter(|r| r["tool"] == tool)
            .filter_map(|r| Some((r["workers"].as_f64()?, figure(r, records)?)))
            .collect();
        if points.is_empty() {
            continue;
        }
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let style = color(tool).stroke_width(if tool == PROCESS { 3 } else { 2 });
        chart
            .draw_series(LineSeries::new(points.clone(), style))?
            .label(tool)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
        chart.draw_series(
            points
                .iter()
                .map(|&p| Circle::new(p, 4, color(tool).filled())),
        )?;
    }
    let others = records
        .iter()
        .find(|r| r["workload"] == "cpu" && r["tool"] == OTHERS)
        .and_then(|r| r["others_cores"].as_f64());
    if let Some(others) = others {
        // The figure that says how far to trust the others on this panel.
        chart.draw_series(std::iter::once(Text::new(
            format!("other processes kept {others:.2} cores busy during this run"),
            (most + 0.15, top * 0.03),
            (FONT, 13)
                .into_font()
                .color(&RGBColor(90, 90, 90))
                .pos(Pos::new(HPos::Right, VPos::Bottom)),
        )))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    Ok(())
}

/// Right: per-task overhead per tool, on a log scale: the cost per item of a 100k-item map of
/// `x * x`, and one warm round trip.
fn overhead(
    records: &[Value],
    area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
) -> Result<(), Box<dyn Error>> {
    let items = records
        .iter()
        .find(|r| r["workload"] == "overhead")
        .and_then(|r| r["items"].as_u64())
        .unwrap_or(100_000);
    let map_label = format!("µs per item, map x*x over {items} ints");
    let series = [
        ("overhead", map_label.as_str(), RGBColor(33, 102, 172)),
        (
            "latency",
            "µs per warm round trip of 1 call",
            RGBColor(240, 160, 50),
        ),
    ];
    // Tools with any figure, first at the top.
    let tools: Vec<&str> = TOOLS
        .iter()
        .copied()
        .filter(|tool| {
            series.iter().any(|(workload, ..)| {
                headline(records, workload, tool)
                    .and_then(|r| figure(r, records))
                    .is_some()
            })
        })
        .collect();
    let values: Vec<f64> = tools
        .iter()
        .flat_map(|tool| {
            series
                .iter()
                .filter_map(|(workload, ..)| figure(headline(records, workload, tool)?, records))
        })
        .filter(|v| *v > 0.0)
        .collect();
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(0.0, f64::max);
    if values.is_empty() {
        return Ok(());
    }
    // A decade of room below the smallest bar, so that it shows.
    let low = 10f64.powf((low / 3.0).log10().floor());
    let high = 10f64.powf((high * 3.0).log10().ceil());
    let count = tools.len();
    // Tool `i` sits at y = count - 1 - i, so that the first tool is at the top.
    let row = |i: usize| (count - 1 - i) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "Per-task overhead, 2 workers (µs, log scale; lower is better)",
            (FONT, 17),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(140)
        .build_cartesian_2d(
            (low..high).log_scale(),
            // One empty slot below the tools, for the legend.
            -1.5..count as f64 - 0.5,
        )?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc("µs")
        .x_label_formatter(&|v| short(*v))
        // As many labels as whole numbers in the range (-1 to count - 1): the axis then picks a
        // step of 1, and the formatter names the tools.
        .y_labels(count + 1)
        .y_label_formatter(&|y| {
            let slot = y.round();
            if (y - slot).abs() < 0.01 && (0.0..count as f64).contains(&slot) {
                tools[count - 1 - slot as usize].to_owned()
            } else {
                String::new()
            }
        })
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()?;
    for (k, (workload, label, fill)) in series.iter().enumerate() {
        let bars: Vec<(f64, f64)> = tools
            .iter()
            .enumerate()
            .filter_map(|(i, tool)| {
                let value = figure(headline(records, workload, tool)?, records)?;
                Some((row(i), value))
            })
            .collect();
        // Two bars per tool: the first series above the second.
        let (top, bottom) = if k == 0 { (0.38, 0.02) } else { (-0.02, -0.38) };
        let fill = *fill;
        chart
            .draw_series(bars.iter().map(|&(y, value)| {
                Rectangle::new([(low, y + top), (value, y + bottom)], fill.filled())
            }))?
            .label(*label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], fill.filled()));
        chart.draw_series(bars.iter().map(|&(y, value)| {
            Text::new(
                sig3(value),
                (value * 1.15, y + (top + bottom) / 2.0),
                (FONT, 12)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            )
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    Ok(())
}

/// A log axis label: `0.01`, `1`, `1000`.
fn short(v: f64) -> String {
    if v >= 1.0 {
        format!("{v:.0}")
    } else {
        let text = format!("{v:.6}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}
