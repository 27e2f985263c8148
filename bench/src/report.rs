//! Figures from the raw records, the summary table (terminal and Markdown) and the report.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::Settings;
use crate::rust_side::{PAR_MAP, PROCESS, RAYON, SOCKET, THREADS, median};

pub const POOL: &str = "mp.Pool";
/// The tool of the records that say how busy other processes kept the machine.
pub const OTHERS: &str = "other processes";
pub const PPE: &str = "ProcessPoolExecutor";
pub const JOBLIB: &str = "joblib (loky)";
/// The Python tools, in the table's order.
pub const PYTHON_TOOLS: [&str; 3] = [POOL, PPE, JOBLIB];
/// Every tool, in the table's order.
pub const TOOLS: [&str; 8] = [POOL, PPE, JOBLIB, PROCESS, PAR_MAP, SOCKET, RAYON, THREADS];

/// Which way a figure is better.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Better {
    Lower,
    Higher,
}

/// A workload with a number per tool.
pub struct Measured {
    pub key: &'static str,
    pub header: &'static str,
    pub unit: &'static str,
    pub better: Better,
}

/// The measured workloads, in the table's order.
pub const MEASURED: [Measured; 5] = [
    Measured {
        key: "overhead",
        header: "map: µs/item ↓",
        unit: "µs/item",
        better: Better::Lower,
    },
    Measured {
        key: "startup",
        header: "start: ms ↓",
        unit: "ms",
        better: Better::Lower,
    },
    Measured {
        key: "cpu",
        header: "cpu: speedup ↑",
        unit: "× serial",
        better: Better::Higher,
    },
    Measured {
        key: "latency",
        header: "round trip: µs ↓",
        unit: "µs",
        better: Better::Lower,
    },
    Measured {
        key: "payload",
        header: "payload: GB/s ↑",
        unit: "GB/s",
        better: Better::Higher,
    },
];

/// What the columns measure, for these settings.
pub fn legend(settings: &Settings) -> String {
    [
        format!(
            "- map: x*x over {} ints on a warm 2-worker pool, µs per item",
            settings.items
        ),
        "- start: build a 2-worker pool and get one trivial result, ms".to_owned(),
        format!(
            "- cpu: {} calls of a ~10 ms CPU loop on 2 workers, speedup against a serial loop in \
             the same language (the cases take turns; the median of each round's speedup)",
            settings.calls
        ),
        "- round trip: one call on a warm 2-worker pool, µs".to_owned(),
        format!(
            "- payload: {} × {} MiB byte strings mapped with len on 2 workers, GB/s of input",
            settings.payloads, settings.payload_mb
        ),
        "- crash: item 3 of 8 SIGKILLs its worker: what the caller sees; whether the same pool \
         runs the next job"
            .to_owned(),
        "- ↓ lower is better, ↑ higher is better; medians of several runs. `parallel process ÷ \
         best Python`: the ProcessPool API's figure over the best Python tool's, and how many times \
         better or worse that is"
            .to_owned(),
        "- other processes: how many of the cores other work on the machine kept busy, on \
         average, while the workload ran (both languages); above 0.1 or so, take the figures of \
         that column with care"
            .to_owned(),
    ]
    .join("\n")
}

fn str_of<'a>(record: &'a Value, key: &str) -> &'a str {
    record[key].as_str().unwrap_or_default()
}

/// The figure of one record, in its workload's unit; `None` for records without one.
pub fn figure(record: &Value, records: &[Value]) -> Option<f64> {
    let seconds = record["seconds"].as_f64()?;
    match str_of(record, "workload") {
        "overhead" => Some(seconds / record["items"].as_f64()? * 1e6),
        "startup" => Some(seconds * 1e3),
        "cpu" => {
            let serial = records.iter().find(|r| {
                r["workload"] == "cpu" && r["tool"] == "serial" && r["lang"] == record["lang"]
            })?;
            // The cases take turns, one run each per round: the speedup of each round, then
            // their median, so that a burst of load from other programs spoils one round rather
            // than the one case it happened to land on.
            let rounds = |r: &Value| -> Option<Vec<f64>> {
                r["samples"].as_array()?.iter().map(Value::as_f64).collect()
            };
            match (rounds(serial), rounds(record)) {
                (Some(serial), Some(case)) if serial.len() == case.len() && !case.is_empty() => {
                    let speedups: Vec<f64> = serial.iter().zip(&case).map(|(s, c)| s / c).collect();
                    Some(median(&speedups))
                }
                _ => Some(serial["seconds"].as_f64()? / seconds),
            }
        }
        "latency" => Some(seconds * 1e6),
        "payload" => Some(record["bytes"].as_f64()? / seconds / 1e9),
        _ => None,
    }
}

/// The record that stands for `tool` in `workload`'s column (the 2-worker run for `cpu`).
pub fn headline<'a>(records: &'a [Value], workload: &str, tool: &str) -> Option<&'a Value> {
    records.iter().find(|r| {
        r["workload"] == workload
            && r["tool"] == tool
            && r["headline"] == true
            && (workload != "cpu" || r["workers"] == 2)
    })
}

/// Three significant digits.
pub fn sig3(x: f64) -> String {
    if !x.is_finite() {
        return "?".into();
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (2 - magnitude).max(0) as usize;
    format!("{x:.decimals$}")
}

/// The summary: a figure per workload and tool, the best Python tool and `parallel`'s ratio.
pub struct Summary {
    figures: BTreeMap<(&'static str, &'static str), f64>,
    /// Cores other processes kept busy, on average, while each workload ran.
    others: BTreeMap<String, f64>,
    crash: BTreeMap<&'static str, String>,
    best_python: BTreeMap<&'static str, (&'static str, f64)>,
}

impl Summary {
    pub fn new(records: &[Value]) -> Summary {
        let mut figures = BTreeMap::new();
        let mut best_python = BTreeMap::new();
        for workload in &MEASURED {
            for tool in TOOLS {
                let Some(value) = headline(records, workload.key, tool)
                    .and_then(|record| figure(record, records))
                else {
                    continue;
                };
                figures.insert((workload.key, tool), value);
                if PYTHON_TOOLS.contains(&tool) {
                    let best = best_python.entry(workload.key).or_insert((tool, value));
                    let better = match workload.better {
                        Better::Lower => value < best.1,
                        Better::Higher => value > best.1,
                    };
                    if better {
                        *best = (tool, value);
                    }
                }
            }
        }
        let mut crash = BTreeMap::new();
        for tool in TOOLS {
            let text = match headline(records, "crash", tool) {
                Some(record) => crash_cell(record),
                None if tool == RAYON || tool == THREADS => "n/a: one process".into(),
                None => continue,
            };
            crash.insert(tool, text);
        }
        let others = records
            .iter()
            .filter(|r| r["tool"] == OTHERS)
            .filter_map(|r| {
                Some((
                    str_of(r, "workload").to_owned(),
                    r["others_cores"].as_f64()?,
                ))
            })
            .collect();
        Summary {
            figures,
            others,
            crash,
            best_python,
        }
    }

    /// `parallel process` ÷ the best Python tool, and how many times better that is.
    pub fn ratio(&self, workload: &Measured) -> Option<(f64, f64)> {
        let ours = *self.figures.get(&(workload.key, PROCESS))?;
        let (_, best) = *self.best_python.get(workload.key)?;
        let ratio = ours / best;
        let times_better = match workload.better {
            Better::Lower => 1.0 / ratio,
            Better::Higher => ratio,
        };
        Some((ratio, times_better))
    }

    fn rows(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let mut header = vec!["tool".to_owned()];
        header.extend(MEASURED.iter().map(|w| w.header.to_owned()));
        header.push("crash: worker SIGKILLed mid-map".to_owned());
        let mut rows = Vec::new();
        for tool in TOOLS {
            let mut row = vec![tool.to_owned()];
            for workload in &MEASURED {
                row.push(
                    self.figures
                        .get(&(workload.key, tool))
                        .map_or_else(|| "—".to_owned(), |v| sig3(*v)),
                );
            }
            row.push(self.crash.get(tool).cloned().unwrap_or_else(|| "—".into()));
            rows.push(row);
        }
        let mut best = vec!["best Python tool".to_owned()];
        let mut ratio = vec![format!("{PROCESS} ÷ best Python")];
        for workload in &MEASURED {
            best.push(
                self.best_python
                    .get(workload.key)
                    .map_or_else(|| "—".into(), |(tool, _)| (*tool).to_owned()),
            );
            ratio.push(
                self.ratio(workload)
                    .map_or_else(|| "—".into(), |(r, times)| ratio_cell(r, times)),
            );
        }
        best.push("—".into());
        ratio.push(self.crash_verdict());
        rows.push(best);
        rows.push(ratio);
        if !self.others.is_empty() {
            let mut others = vec!["other processes: cores busy".to_owned()];
            for key in MEASURED.iter().map(|w| w.key).chain(["crash"]) {
                others.push(
                    self.others
                        .get(key)
                        .map_or_else(|| "—".into(), |cores| format!("{cores:.2}")),
                );
            }
            rows.push(others);
        }
        (header, rows)
    }

    fn crash_verdict(&self) -> String {
        match self.crash.get(PROCESS) {
            Some(cell) if cell.starts_with("1 Err + 7 Ok") => {
                "only the killed item fails; the rest complete".into()
            }
            Some(_) => "see the crash details".into(),
            None => "—".into(),
        }
    }

    /// The table, as Markdown with padded columns: readable in a terminal too.
    pub fn table(&self) -> String {
        let (header, rows) = self.rows();
        let width = |i: usize| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(1)
        };
        let widths: Vec<usize> = (0..header.len()).map(width).collect();
        let line = |cells: &[String]| {
            let mut out = String::from("|");
            for (i, cell) in cells.iter().enumerate() {
                let pad = widths[i] - cell.chars().count();
                // Text left, numbers right.
                if i == 0 || cell.chars().any(char::is_alphabetic) {
                    let _ = write!(out, " {cell}{} |", " ".repeat(pad));
                } else {
                    let _ = write!(out, " {}{cell} |", " ".repeat(pad));
                }
            }
            out
        };
        let mut out = line(&header);
        out.push('\n');
        out.push('|');
        for (i, w) in widths.iter().enumerate() {
            let rule = "-".repeat(*w);
            if i == 0 || i == widths.len() - 1 {
                let _ = write!(out, " {rule} |");
            } else {
                let _ = write!(out, " {}: |", &rule[1..]);
            }
        }
        for row in rows {
            out.push('\n');
            out.push_str(&line(&row));
        }
        out
    }

    pub fn to_json(&self) -> Value {
        let workloads: Vec<Value> = MEASURED
            .iter()
            .map(|w| {
                let figures: serde_json::Map<String, Value> = TOOLS
                    .iter()
                    .filter_map(|tool| {
                        let value = self.figures.get(&(w.key, *tool))?;
                        Some(((*tool).to_owned(), json!(value)))
                    })
                    .collect();
                let best = self.best_python.get(w.key);
                let ratio = self.ratio(w);
                json!({
                    "workload": w.key,
                    "unit": w.unit,
                    "better": if w.better == Better::Lower { "lower" } else { "higher" },
                    "figures": figures,
                    "best_python": best.map(|(tool, value)| json!({"tool": tool, "value": value})),
                    "parallel_process_over_best_python": ratio.map(|(r, _)| r),
                    "times_better": ratio.map(|(_, t)| t),
                })
            })
            .collect();
        json!({"workloads": workloads, "crash": self.crash, "other_processes_cores": self.others})
    }
}

fn ratio_cell(ratio: f64, times_better: f64) -> String {
    if times_better >= 1.0 {
        format!("{} ({}× better)", sig3(ratio), sig3(times_better))
    } else {
        format!("{} ({}× worse)", sig3(ratio), sig3(1.0 / times_better))
    }
}

/// The crash outcome in a few words.
fn crash_cell(record: &Value) -> String {
    let outcome = str_of(record, "outcome");
    let seen = if let Some(rest) = outcome.strip_prefix("raises ") {
        rest.to_owned()
    } else if outcome.starts_with("HANG") {
        "hangs".to_owned()
    } else if outcome.starts_with("panics") {
        "panics in the caller".to_owned()
    } else if let Some((counts, _)) = outcome.split_once(':') {
        counts.to_owned()
    } else {
        outcome.to_owned()
    };
    let next = match str_of(record, "next_job") {
        "works" => "ok".to_owned(),
        other => other.strip_prefix("raises ").unwrap_or(other).to_owned(),
    };
    format!("{seen}; next: {next}")
}

/// One line about the machine and how busy it was.
pub fn machine_line(machine: &Value) -> String {
    let python = match &machine["python"] {
        Value::Null => "no Python side".to_owned(),
        py => format!(
            "Python {} + joblib {} (loky {}; start method {})",
            str_of(py, "python"),
            str_of(py, "joblib"),
            str_of(py, "loky"),
            str_of(py, "start_method")
        ),
    };
    let load = |key: &str| {
        let load = &machine[key];
        format!(
            "{}% of all cores busy, load average {}",
            load["busy_percent_of_all_cores"],
            str_of(load, "loadavg")
        )
    };
    format!(
        "{} · {} cores, {} · Linux {} · {} ({}) · {}\nbefore the run: {}; after: {}; took {} s",
        str_of(machine, "date"),
        machine["cores"],
        str_of(machine, "cpu"),
        str_of(machine, "kernel"),
        str_of(machine, "rustc"),
        str_of(machine, "profile"),
        python,
        load("load_before"),
        load("load_after"),
        machine["seconds"],
    )
}

/// The Markdown report: the summary, then every measurement.
pub fn markdown(
    machine: &Value,
    settings: &Settings,
    summary: &Summary,
    records: &[Value],
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# `parallel` vs Python's process pools\n");
    let _ = writeln!(
        out,
        "Written by `bash bench/compare.sh` \
         (`cargo run --release -p parallel-bench --bin compare`).\n"
    );
    for line in machine_line(machine).lines() {
        let _ = writeln!(out, "{line}  ");
    }
    let _ = writeln!(out, "\n{}\n\n{}\n", summary.table(), legend(settings));
    let _ = writeln!(out, "![speedup and overhead](compare.svg)\n");

    let _ = writeln!(
        out,
        "## Scaling: 10 ms CPU tasks, speedup against workers\n"
    );
    let mut workers: Vec<u64> = records
        .iter()
        .filter(|r| r["workload"] == "cpu" && r["tool"] != "serial")
        .filter_map(|r| r["workers"].as_u64())
        .collect();
    workers.sort_unstable();
    workers.dedup();
    let _ = write!(out, "| tool |");
    for w in &workers {
        let _ = write!(out, " {w} worker{} |", if *w == 1 { "" } else { "s" });
    }
    let _ = write!(out, "\n|---|");
    for _ in &workers {
        let _ = write!(out, "---:|");
    }
    out.push('\n');
    for tool in TOOLS {
        let cells: Vec<String> = workers
            .iter()
            .map(|w| {
                records
                    .iter()
                    .find(|r| r["workload"] == "cpu" && r["tool"] == tool && r["workers"] == *w)
                    .and_then(|r| figure(r, records))
                    .map_or_else(|| "—".into(), |v| format!("{}×", sig3(v)))
            })
            .collect();
        if cells.iter().all(|c| c == "—") {
            continue;
        }
        let _ = writeln!(out, "| {tool} | {} |", cells.join(" | "));
    }

    let _ = writeln!(out, "\n## Every measurement\n");
    let _ = writeln!(
        out,
        "`figure` is in the unit of the workload above (cpu: speedup against the serial loop in \
         the same language); `median` and `runs` are the raw wall-clock seconds.\n"
    );
    let _ = writeln!(
        out,
        "| workload | lang | tool | what ran | workers | figure | median s | runs (min–max s) |"
    );
    let _ = writeln!(out, "|---|---|---|---|---:|---:|---:|---|");
    for record in records
        .iter()
        .filter(|r| r["workload"] != "crash" && r["tool"] != OTHERS)
    {
        let samples: Vec<f64> = record["samples"]
            .as_array()
            .map(|s| s.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        let runs = if samples.is_empty() {
            format!("{} rounds", record["rounds"])
        } else {
            let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
            let max = samples.iter().copied().fold(0.0, f64::max);
            format!("{} ({}–{})", samples.len(), sig3(min), sig3(max))
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | `{}` | {} | {} | {} | {} |",
            str_of(record, "workload"),
            str_of(record, "lang"),
            str_of(record, "tool"),
            str_of(record, "variant"),
            record["workers"],
            figure(record, records).map_or_else(|| "—".into(), sig3),
            record["seconds"].as_f64().map_or_else(|| "—".into(), sig3),
            runs,
        );
    }

    let _ = writeln!(
        out,
        "\n## Crash: item 3 of 8 SIGKILLs its worker in the middle of a map\n"
    );
    let _ = writeln!(
        out,
        "| tool | what ran | what the caller sees | ms | next job on the same pool |"
    );
    let _ = writeln!(out, "|---|---|---|---:|---|");
    for record in records.iter().filter(|r| r["workload"] == "crash") {
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} | {} |",
            str_of(record, "tool"),
            str_of(record, "variant"),
            str_of(record, "outcome").replace('|', "\\|"),
            record["seconds"]
                .as_f64()
                .map_or_else(|| "—".into(), |s| format!("{:.0}", s * 1e3)),
            str_of(record, "next_job"),
        );
    }
    out
}
