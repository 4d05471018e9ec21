//! `portnote live`: traffic by service on a live interface.
//!
//! Opens the interface ([`LiveCapture`]), feeds every packet through the same [`Pipeline`] as
//! `summary`, and every `--interval` takes a snapshot (the live flows folded into a copy of the
//! counts) to redraw the top-like view or print an NDJSON line. Ctrl-C, SIGTERM, `--duration`
//! and `--count` end the loop cleanly; the final summary is then written with libpcap's
//! counters. A read that fails (the interface went down or away) also ends it, with the final
//! summary and exit status 2. The loop wakes at least every [`IDLE_WAIT`], so ticks and
//! signals are handled on a silent link too. Memory stays bounded by the flow table's
//! `--max-flows` and idle timeouts. With `--metrics` the same snapshot also updates the
//! Prometheus counters ([`super::metrics`]) that a server thread serves; `--quiet` prints nothing.

use super::ipfix::{IpfixExport, LiveExport};
use super::metrics::Metrics;
use crate::cli::{LiveArgs, LiveFormat};
use portnote::capture::live::{list_interfaces, LiveCapture, LiveOptions, PcapStats};
use portnote::capture::pcapng_write::AnnotatedPcapngWriter;
use portnote::decode::DecodeOptions;
use portnote::pipeline::Pipeline;
use portnote::registry::Registry;
use portnote::report::comment::write_comment;
use portnote::report::live::{
    clear_frame, moving_rates, write_frame, write_live_json, write_live_table, write_ndjson_line,
    CaptureStatsReport, FrameStyle, LiveReport, RateTracker, SnapshotInfo, StopReason,
};
use portnote::report::summary::{InputReport, SortKey, SummaryReport, TableStyle};
use portnote::report::Stdout;
use portnote::{Error, Outcome};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the loop sleeps when no packet is waiting: the latency of a tick, a signal or
/// `--duration` on a silent link. Short, so the kernel buffer never fills while it sleeps.
pub const IDLE_WAIT: Duration = Duration::from_millis(5);

pub fn run(args: &LiveArgs, registry: &Registry, out: &mut dyn Write) -> Result<Outcome, Error> {
    if args.list {
        return list(out);
    }
    let interface = args
        .interface
        .clone()
        .ok_or_else(|| Error::Usage("live: -i IFACE is required (or --list)".to_string()))?;
    // Bound before the capture opens, so a bad address is a usage error with nothing captured.
    let mut metrics = match &args.metrics {
        Some(address) => {
            let metrics = Metrics::new(args.metrics_max_ports);
            let server = metrics.serve(address)?;
            Some((metrics, server))
        }
        None => None,
    };
    let mut capture = LiveCapture::open(&LiveOptions {
        interface,
        snaplen: args.snaplen,
        promiscuous: !args.no_promisc,
        idle_wait: IDLE_WAIT,
        filter: args.filter.clone(),
    })?;
    let stop = StopSignals::install()?;
    // Like tcpdump's "listening on" line: says the capture is open (scripts wait for it).
    eprintln!(
        "portnote: capturing on {}, link type {}, snapshot length {} bytes{}",
        capture.interface(),
        capture.linktype(),
        args.snaplen,
        args.filter
            .as_ref()
            .map(|f| format!(", filter {f:?}"))
            .unwrap_or_default()
    );
    if let Some((_, server)) = &metrics {
        eprintln!(
            "portnote: serving metrics on http://{}/metrics",
            server.address()
        );
    }
    let mut writer = match &args.write {
        Some(path) => {
            let file_error = |source| Error::Input {
                path: path.display().to_string(),
                source,
            };
            let file = File::create(path).map_err(file_error)?;
            let writer = AnnotatedPcapngWriter::new(
                BufWriter::new(file),
                &super::annotate_pcapng::application(),
                Some(&super::annotate_pcapng::section_comment(registry)),
            )
            .map_err(file_error)?;
            Some(writer)
        }
        None => None,
    };
    let write_error = |source| Error::Input {
        path: args
            .write
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        source,
    };

    let stdout = Stdout::detect();
    let redraw = !args.quiet && args.format == LiveFormat::Table && stdout.terminal;
    // Interval output: the redrawn frame, or NDJSON lines; json and a piped table print only
    // the final summary.
    let ticking = redraw || (!args.quiet && args.format == LiveFormat::Ndjson);
    let mut view = View {
        args,
        rates: RateTracker::default(),
        last_tick: Instant::now(),
        redraw,
        color: stdout.color,
    };
    let export = LiveExport::new(IpfixExport::connect(&args.ipfix)?, args.active_timeout);
    let mut pipeline = Pipeline::with_sink(
        registry,
        DecodeOptions {
            no_decap: args.no_decap,
        },
        args.max_flows,
        export,
    );
    let started = Instant::now();
    let mut next_tick = started + args.interval;
    let mut packets = 0u64;
    let mut failure = None;
    let mut comment = Vec::with_capacity(256);

    let stopped_by = loop {
        if let Some(reason) = stop.reason() {
            break reason;
        }
        if args.duration.is_some_and(|d| started.elapsed() >= d) {
            break StopReason::Duration;
        }
        match capture.next_frame() {
            Ok(Some(frame)) => {
                match writer.as_mut() {
                    Some(w) if !args.no_comment => {
                        let processed = pipeline.process(&frame);
                        write_comment(
                            &mut comment,
                            &processed.info,
                            processed.attribution.as_ref(),
                        );
                        w.write_frame(&frame, Some(&comment)).map_err(write_error)?;
                    }
                    Some(w) => {
                        pipeline.count(&frame);
                        w.write_frame(&frame, None).map_err(write_error)?;
                    }
                    None => pipeline.count(&frame),
                }
                packets = packets.saturating_add(1);
                if args.count == Some(packets) {
                    break StopReason::Count;
                }
            }
            Ok(None) => {}
            Err(e) => {
                eprintln!("portnote: {e}");
                failure = Some(e.to_string());
                break StopReason::Error;
            }
        }
        let now = Instant::now();
        LiveExport::tick(&mut pipeline, now);
        if (ticking || metrics.is_some()) && now >= next_tick {
            let (aggregator, stats) = pipeline.snapshot();
            let capture_stats =
                capture_stats(&mut capture, args, started, None, failure.clone(), packets);
            if let Some((metrics, _)) = metrics.as_mut() {
                metrics.update(
                    &aggregator,
                    pipeline.ended(),
                    &stats,
                    pipeline.live_flows(),
                    &capture_stats,
                );
            }
            if ticking {
                let summary = build(&aggregator, stats, &capture, packets, None);
                view.tick(out, &summary, &capture_stats)?;
            }
            // After a slow snapshot, the next interval starts now rather than at once.
            next_tick += args.interval;
            if next_tick <= now {
                next_tick = now + args.interval;
            }
        }
    };

    if let Some(mut w) = writer {
        w.flush().map_err(write_error)?;
    }
    let capture_stats = capture_stats(
        &mut capture,
        args,
        started,
        Some(stopped_by),
        failure.clone(),
        packets,
    );
    let (aggregator, stats, export) = pipeline.finish_with_sink();
    export.finish();
    // The metrics server stops here; what it served last was the last interval's snapshot.
    drop(metrics);
    let summary = build(&aggregator, stats, &capture, packets, failure.clone());
    if !args.quiet {
        view.finish(out, &summary, &capture_stats)?;
    }
    Ok(if failure.is_some() {
        Outcome::InputErrors
    } else {
        Outcome::Success
    })
}

fn build(
    aggregator: &portnote::aggregate::Aggregator,
    stats: portnote::flow::FlowStats,
    capture: &LiveCapture,
    packets: u64,
    error: Option<String>,
) -> SummaryReport {
    let input = InputReport {
        file: capture.interface().to_string(),
        packets,
        error,
        unopened: false,
    };
    SummaryReport::build(aggregator, stats, vec![input], SortKey::Bytes)
}

/// The capture's counters now. libpcap's own may be unreadable after the interface went
/// away; then the packets portnote read stand in for `received` and the reason is kept.
fn capture_stats(
    capture: &mut LiveCapture,
    args: &LiveArgs,
    started: Instant,
    stopped_by: Option<StopReason>,
    failure: Option<String>,
    packets: u64,
) -> CaptureStatsReport {
    let (counters, error) = match capture.stats() {
        Ok(counters) => (counters, failure),
        Err(e) => (
            PcapStats {
                received: packets,
                ..PcapStats::default()
            },
            Some(match failure {
                Some(f) => format!("{f}; {e}"),
                None => e.to_string(),
            }),
        ),
    };
    CaptureStatsReport {
        interface: capture.interface().to_string(),
        linktype: capture.linktype(),
        filter: args.filter.clone(),
        received: counters.received,
        dropped: counters.dropped,
        interface_dropped: counters.interface_dropped,
        elapsed_seconds: started.elapsed().as_secs_f64(),
        stopped_by,
        error,
    }
}

/// What is shown while the capture runs and when it stops, per `--format`.
struct View<'a> {
    args: &'a LiveArgs,
    rates: RateTracker,
    last_tick: Instant,
    /// Table format on a terminal: the frame is redrawn in place.
    redraw: bool,
    color: bool,
}

impl View<'_> {
    /// One interval: redraw the frame or print a snapshot line.
    fn tick(
        &mut self,
        out: &mut dyn Write,
        summary: &SummaryReport,
        capture_stats: &CaptureStatsReport,
    ) -> Result<(), Error> {
        let now = Instant::now();
        let seconds = now.duration_since(self.last_tick).as_secs_f64();
        self.last_tick = now;
        let rates = self.rates.update(summary, seconds);
        let live = LiveReport {
            summary,
            capture_stats,
        };
        match self.args.format {
            LiveFormat::Table => {
                let (width, height) = terminal_size::terminal_size()
                    .map_or((80, 24), |(w, h)| (usize::from(w.0), usize::from(h.0)));
                let style = FrameStyle {
                    width,
                    height,
                    bold: self.color,
                };
                write_frame(out, &live, &rates, style).map_err(Error::Output)?;
            }
            LiveFormat::Ndjson => {
                let info = SnapshotInfo {
                    is_final: false,
                    interval_seconds: seconds,
                    rates: moving_rates(summary, &rates),
                };
                write_ndjson_line(out, live, info).map_err(Error::Output)?;
            }
            LiveFormat::Json => {}
        }
        out.flush().map_err(Error::Output)
    }

    /// The final summary.
    fn finish(
        &mut self,
        out: &mut dyn Write,
        summary: &SummaryReport,
        capture_stats: &CaptureStatsReport,
    ) -> Result<(), Error> {
        let live = LiveReport {
            summary,
            capture_stats,
        };
        match self.args.format {
            LiveFormat::Table => {
                if self.redraw {
                    clear_frame(out).map_err(Error::Output)?;
                }
                let style = TableStyle {
                    color: self.color,
                    top: 0,
                };
                write_live_table(out, &live, style).map_err(Error::Output)?;
            }
            LiveFormat::Ndjson => {
                let seconds = self.last_tick.elapsed().as_secs_f64();
                let rates = self.rates.update(summary, seconds);
                let info = SnapshotInfo {
                    is_final: true,
                    interval_seconds: seconds,
                    rates: moving_rates(summary, &rates),
                };
                write_ndjson_line(out, live, info).map_err(Error::Output)?;
            }
            LiveFormat::Json => write_live_json(out, &live).map_err(Error::Output)?,
        }
        out.flush().map_err(Error::Output)
    }
}

/// SIGINT and SIGTERM ask the loop to stop; a second SIGINT or SIGTERM while it is stopping
/// exits at once (status 130), for a summary that takes too long.
struct StopSignals {
    which: Arc<AtomicUsize>,
}

impl StopSignals {
    fn install() -> Result<StopSignals, Error> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let which = Arc::new(AtomicUsize::new(0));
        let asked = Arc::new(AtomicBool::new(false));
        let failed = |e: std::io::Error| Error::Usage(format!("installing signal handlers: {e}"));
        for signal in [SIGINT, SIGTERM] {
            // The shutdown check runs before the flag is set, so only a second signal exits.
            signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&asked))
                .map_err(failed)?;
            signal_hook::flag::register(signal, Arc::clone(&asked)).map_err(failed)?;
            let code = usize::try_from(signal).unwrap_or(usize::MAX);
            signal_hook::flag::register_usize(signal, Arc::clone(&which), code).map_err(failed)?;
        }
        Ok(StopSignals { which })
    }

    fn reason(&self) -> Option<StopReason> {
        use signal_hook::consts::SIGTERM;
        match self.which.load(Ordering::Relaxed) {
            0 => None,
            code if usize::try_from(SIGTERM).is_ok_and(|term| term == code) => {
                Some(StopReason::Terminate)
            }
            _ => Some(StopReason::Interrupt),
        }
    }
}

/// `portnote live --list`: one line per interface, tab-separated.
fn list(out: &mut dyn Write) -> Result<Outcome, Error> {
    let interfaces = list_interfaces()?;
    writeln!(out, "interface\tstate\tlink type\taddresses").map_err(Error::Output)?;
    for interface in &interfaces {
        writeln!(out, "{interface}").map_err(Error::Output)?;
    }
    for interface in &interfaces {
        if let Err(e) = &interface.linktype {
            writeln!(out, "# {}: link type ?: {e}", interface.name).map_err(Error::Output)?;
        }
    }
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::test_frames::ethernet;

    /// UDP between 10.0.0.1:50000 and 10.0.0.2:8, `payload` bytes.
    fn udp_frame(to_server: bool, payload: usize) -> Vec<u8> {
        super::super::test_frames::udp(50000, 8, !to_server, payload)
    }

    fn report(
        pipeline_counts: (portnote::aggregate::Aggregator, portnote::flow::FlowStats),
    ) -> SummaryReport {
        SummaryReport::build(
            &pipeline_counts.0,
            pipeline_counts.1,
            vec![],
            SortKey::Bytes,
        )
    }

    #[test]
    fn snapshots_count_a_long_lived_flow_without_ending_it() {
        let registry = Registry::default();
        let mut pipeline = Pipeline::new(&registry, DecodeOptions::default(), 16);
        let request = udp_frame(true, 10);
        let answer = udp_frame(false, 30);
        pipeline.count(&ethernet(&request, 100));
        pipeline.count(&ethernet(&answer, 101));

        let first = report(pipeline.snapshot());
        assert_eq!(first.totals.packets, 2);
        assert_eq!(first.rows.len(), 1);
        let row = &first.rows[0];
        assert_eq!(row.ports, vec![8]);
        assert_eq!(row.flows, 1);
        assert_eq!(row.packets_to_server, 1);
        assert_eq!(row.bytes_to_client, answer.len() as u64);

        // The same flow goes on (within UDP's 120 s idle timeout): the next snapshot has its
        // new packets in the same row, and still one flow, because the snapshot did not end it.
        pipeline.count(&ethernet(&request, 150));
        let second = report(pipeline.snapshot());
        assert_eq!(second.totals.packets, 3);
        assert_eq!(second.rows[0].packets, 3);
        assert_eq!(second.rows[0].flows, 1);
        assert_eq!(second.totals.flows_expired, 0);

        // And what finish() counts is what the last snapshot said.
        let last = report(pipeline.finish());
        assert_eq!(last.rows[0].packets, second.rows[0].packets);
        assert_eq!(last.rows[0].bytes, second.rows[0].bytes);
        assert_eq!(last.rows[0].flows, 1);
        assert_eq!(last.totals.packets, 3);
    }
}
