//! `portnote summary`: traffic by service over one or more captures.

use super::input::{filter_of, read_input};
use crate::cli::{FailOn, SummaryArgs, SummaryFormat};
use portnote::aggregate::{Aggregator, Section};
use portnote::capture::BpfFilter;
use portnote::decode::DecodeOptions;
use portnote::flow::FlowStats;
use portnote::pipeline::{merge_parts, Part, Pipeline, ShardedPipeline, ThreadPlan};
use portnote::registry::{Registry, Status};
use portnote::report::html::{write_html, HtmlOptions};
use portnote::report::summary::{write_reports, InputReport, RowReport, SummaryReport, TableStyle};
use portnote::report::{Format, Stdout};
use portnote::transport::Transport;
use portnote::{Error, Outcome};
use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Parse `--allow 8443/tcp`.
pub fn parse_allow(spec: &str) -> Result<(Transport, u16), Error> {
    let bad = || {
        Error::Usage(format!(
            "--allow {spec:?}: expected PORT/TRANSPORT, e.g. 8443/tcp"
        ))
    };
    let (port, transport) = spec.split_once('/').ok_or_else(bad)?;
    let port = port.trim().parse::<u16>().map_err(|_| bad())?;
    let transport = transport
        .parse::<Transport>()
        .map_err(|e| Error::Usage(format!("--allow {spec:?}: {e}")))?;
    Ok((transport, port))
}

/// The first `--fail-on` category (in the order given) whose traffic this row is, unless
/// `--allow` accepts every port of the row.
pub fn failing_category(
    row: &RowReport,
    fail_on: &[FailOn],
    allow: &HashSet<(Transport, u16)>,
) -> Option<FailOn> {
    if row
        .ports
        .iter()
        .all(|p| allow.contains(&(row.transport, *p)))
    {
        return None;
    }
    fail_on.iter().copied().find(|category| match category {
        FailOn::Unassigned => {
            row.section == Section::Unassigned && row.status == Status::Unassigned
        }
        FailOn::Reserved => row.section == Section::Unassigned && row.status == Status::Reserved,
        FailOn::Dynamic => row.section == Section::Dynamic,
    })
}

/// How `--fail-on` names a category in its messages.
fn fail_on_name(category: FailOn) -> &'static str {
    match category {
        FailOn::Unassigned => "unassigned",
        FailOn::Reserved => "reserved",
        FailOn::Dynamic => "dynamic",
    }
}

pub fn run(args: &SummaryArgs, registry: &Registry, out: &mut dyn Write) -> Result<Outcome, Error> {
    if args.format == SummaryFormat::Html && args.per_file {
        // One page per file would break the page's size bound; one page of many reports too.
        return Err(Error::Usage(
            "--format html shows one combined summary; --per-file works with table, json and csv"
                .to_string(),
        ));
    }
    let allow = args
        .allow
        .iter()
        .map(|s| parse_allow(s))
        .collect::<Result<HashSet<_>, _>>()?;
    let mut filter = filter_of(&args.input)?;
    let options = DecodeOptions {
        no_decap: args.input.no_decap,
    };

    let threads = ThreadPlan::summary(args.threads.map(usize::from));
    let files = args.input.files.as_slice();
    // Files counted apart (--per-file, --flows-per-file) are read in parallel, one pipeline
    // per file, as many at once as --threads allows; otherwise one pipeline reads them in turn.
    let counted = if args.per_file || args.flows_per_file {
        let parts = count_files_apart(
            files,
            args.input.filter.as_deref(),
            registry,
            options,
            args.max_flows,
            threads.file_workers(files.len()),
        )?;
        if args.per_file {
            parts
                .into_iter()
                .map(|(input, part)| {
                    let (aggregator, stats) = merge_parts(registry, vec![part]);
                    (aggregator, stats, vec![input])
                })
                .collect()
        } else {
            let (inputs, parts): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
            let (aggregator, stats) = merge_parts(registry, parts);
            vec![(aggregator, stats, inputs)]
        }
    } else {
        vec![count(
            files,
            &mut filter,
            registry,
            options,
            args.max_flows,
            threads,
        )?]
    };
    let mut reports = Vec::new();
    let mut unopened = false;
    for (aggregator, stats, inputs) in counted {
        // Inputs that could not be opened have had their one-line error; a report of nothing
        // would only bury it.
        if inputs.iter().all(|i| i.unopened) {
            unopened = true;
            continue;
        }
        reports.push(SummaryReport::build(
            &aggregator,
            stats,
            inputs,
            args.sort.into(),
        ));
    }

    // A closed output pipe (`| head -1`) stops the output, not the verdict: --fail-on and
    // input errors still decide the exit status.
    if !reports.is_empty() {
        match &args.output {
            Some(path) => write_output_file(path, &reports, args, registry)?,
            None => match write_summary(out, &reports, args, registry) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                written => written.map_err(Error::Output)?,
            },
        }
    }

    let failing: Vec<(&RowReport, FailOn)> = reports
        .iter()
        .flat_map(|r| r.rows.iter())
        .filter_map(|row| Some((row, failing_category(row, &args.fail_on, &allow)?)))
        .collect();
    for (row, category) in &failing {
        eprintln!(
            "portnote: --fail-on: {} traffic on {}/{} ({} packets)",
            fail_on_name(*category),
            row.ports.first().copied().unwrap_or(0),
            row.transport,
            row.packets
        );
    }
    let input_errors = unopened || reports.iter().any(|r| r.totals.capture_errors > 0);
    Ok(if input_errors {
        Outcome::InputErrors
    } else if !failing.is_empty() {
        Outcome::ConditionMet
    } else {
        Outcome::Success
    })
}

/// Read and count `paths` as one input, with the threads `threads` plans. The same counts in
/// every case.
fn count(
    paths: &[PathBuf],
    filter: &mut Option<BpfFilter>,
    registry: &Registry,
    options: DecodeOptions,
    max_flows: usize,
    threads: ThreadPlan,
) -> Result<(Aggregator, FlowStats, Vec<InputReport>), Error> {
    let mut inputs = Vec::with_capacity(paths.len());
    let read_ahead = threads.read_ahead;
    if threads.flow_shards == 0 {
        let mut pipeline = Pipeline::new(registry, options, max_flows);
        for path in paths {
            inputs.push(read_input(path, filter, read_ahead, |_, frame| {
                pipeline.count(frame);
                Ok(())
            })?);
        }
        let (aggregator, stats) = pipeline.finish();
        return Ok((aggregator, stats, inputs));
    }
    std::thread::scope(|scope| {
        let mut pipeline =
            ShardedPipeline::new(scope, registry, options, max_flows, threads.flow_shards);
        for path in paths {
            inputs.push(read_input(path, filter, read_ahead, |_, frame| {
                pipeline.process(frame);
                Ok(())
            })?);
        }
        let (aggregator, stats) = pipeline.finish()?;
        Ok((aggregator, stats, inputs))
    })
}

/// Each file counted whole by a pipeline of its own (`--per-file`, `--flows-per-file`), by
/// `workers` threads that each take the next file; the files' inputs and parts in file order.
/// With one worker the files are read one after the other in this thread.
fn count_files_apart(
    paths: &[PathBuf],
    filter: Option<&str>,
    registry: &Registry,
    options: DecodeOptions,
    max_flows: usize,
    workers: usize,
) -> Result<Vec<(InputReport, Part)>, Error> {
    type Counted = Result<(InputReport, Part), Error>;
    let next = AtomicUsize::new(0);
    // Each thread takes files until none is left or one fails; what it counted, by file index.
    let work = || -> Vec<(usize, Counted)> {
        let mut counted = Vec::new();
        let mut bpf = match filter.map(BpfFilter::new).transpose() {
            Ok(bpf) => bpf,
            Err(e) => {
                counted.push((0, Err(Error::Usage(e.to_string()))));
                return counted;
            }
        };
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(path) = paths.get(index) else {
                return counted;
            };
            let mut pipeline = Pipeline::new(registry, options, max_flows);
            let input = read_input(path, &mut bpf, false, |_, frame| {
                pipeline.count(frame);
                Ok(())
            });
            let failed = input.is_err();
            counted.push((index, input.map(|input| (input, pipeline.finish_part()))));
            if failed {
                return counted;
            }
        }
    };
    let done: Vec<Vec<(usize, Counted)>> = if workers <= 1 {
        vec![work()]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers).map(|_| scope.spawn(work)).collect();
            handles
                .into_iter()
                .map(|handle| handle.join())
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|_| Error::Internal("a summary file reader thread panicked".to_string()))?
    };
    let mut results: Vec<Option<Counted>> = (0..paths.len()).map(|_| None).collect();
    let mut failed = None;
    for (index, counted) in done.into_iter().flatten() {
        match results.get_mut(index) {
            Some(slot) if slot.is_none() => *slot = Some(counted),
            _ => failed = failed.or(counted.err()),
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    // In file order; the first error in that order ends the run, as it would sequentially.
    results.into_iter().flatten().collect()
}

/// `-o FILE`: the same output into a file, created once the counts are done (a run that fails
/// earlier leaves an existing file alone).
fn write_output_file(
    path: &std::path::Path,
    reports: &[SummaryReport],
    args: &SummaryArgs,
    registry: &Registry,
) -> Result<(), Error> {
    let named = |e: std::io::Error| {
        Error::Output(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", path.display()),
        ))
    };
    let file = std::fs::File::create(path).map_err(named)?;
    let mut file = std::io::BufWriter::new(file);
    write_summary(&mut file, reports, args, registry).map_err(named)?;
    file.flush().map_err(named)
}

/// The reports in `--format`: the HTML page, or the shared writers of the other formats (tables
/// in colour only on a terminal, never into `-o FILE`).
fn write_summary(
    out: &mut dyn Write,
    reports: &[SummaryReport],
    args: &SummaryArgs,
    registry: &Registry,
) -> std::io::Result<()> {
    let format = match args.format {
        SummaryFormat::Html => {
            let options = HtmlOptions {
                top: args.top,
                registry: registry_description(registry),
            };
            return write_html(out, reports, &options);
        }
        SummaryFormat::Table => Format::Table,
        SummaryFormat::Json => Format::Json,
        SummaryFormat::Csv => Format::Csv,
    };
    let style = TableStyle {
        color: args.output.is_none() && Stdout::detect().color,
        top: args.top,
    };
    write_reports(out, reports, format, args.per_file, style)
}

/// The registry in use, in words: its source, its date, the files laid over it.
fn registry_description(registry: &Registry) -> String {
    let mut text = registry.source().to_string();
    if let Some(date) = registry.date() {
        text.push_str(&format!(", dated {date}"));
    }
    for overlay in registry.overlays() {
        text.push_str(&format!(", with {} laid over it", overlay.display()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_parses_port_slash_transport() {
        assert_eq!(parse_allow("8443/tcp").unwrap(), (Transport::Tcp, 8443));
        assert_eq!(parse_allow("53/UDP").unwrap(), (Transport::Udp, 53));
        assert!(parse_allow("8443").is_err());
        assert!(parse_allow("99999/tcp").is_err());
        assert!(parse_allow("80/icmp").is_err());
    }
}
