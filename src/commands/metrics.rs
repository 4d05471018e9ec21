//! `live --metrics ADDR:PORT`: the live counts as Prometheus / OpenMetrics counters on `/metrics`.
//!
//! Takes in the snapshot `live` already makes every `--interval` (the ended flows' counts plus
//! the live flows folded into a copy, [`Pipeline::snapshot`](portnote::pipeline::Pipeline)),
//! the ended flows' counts alone, the flow statistics and libpcap's counters; gives back
//! nothing but the state of a [`prometheus_client`] registry, which a [`MetricsServer`] thread
//! ([`tiny_http`]) encodes on every scrape. It never parses HTTP itself and never stops the
//! capture: a scrape that fails is that scrape's failure.
//!
//! **Counters never go down.** A snapshot's row can shrink: a live flow whose ranks tie is
//! settled with the fan-in known at that moment and may be settled to another row later, and a
//! revised service side moves a flow's packets. So each row's counts are followed by their
//! high-water mark and a counter is only ever advanced by what the row gained above it
//! ([`HighWater`]); packets that move rows count in both (the counters' sum can run ahead of
//! the packets seen, by the moved packets only). Unanswered flows are taken from the ended
//! flows only: a live flow's reply state is not final (a SYN is unanswered until its SYN+ACK).
//!
//! **Cardinality is bounded** ([`SeriesMap`]): every named service has its own series; unnamed
//! ports (unassigned, reserved, dynamic without a name) get their own series up to
//! `--metrics-max-ports`, given to new ports most bytes first at each update; later ports are
//! folded into `port="other"` of their transport and section. A series, once made, is kept, and
//! a row never changes series, so no counter vanishes or moves.

use portnote::aggregate::{Aggregator, Row, RowKey};
use portnote::flow::FlowStats;
use portnote::report::live::CaptureStatsReport;
use portnote::Error;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::thread::JoinHandle;

/// `--metrics-max-ports`' default: series of unnamed ports before the rest is `port="other"`.
pub const DEFAULT_MAX_PORTS: usize = 500;

/// The OpenMetrics text format, which `prometheus_client` writes and Prometheus reads.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The labels of a service's series: the service port as `summary` reports it.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServiceLabels {
    pub transport: String,
    /// The IANA service name; empty for an unnamed port and for `port="other"`.
    pub service: String,
    /// The port; for a service seen on several ports the lowest one when its series began;
    /// `other` for the folded ports of a section.
    pub port: String,
    /// `assigned`, `reserved`, `unassigned`; empty for `port="other"`.
    pub status: String,
    /// `system`, `user`, `dynamic`; empty for `port="other"`.
    pub class: String,
    /// `assigned`, `unassigned`, `dynamic`: the summary's section.
    pub section: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

/// A counter's source value seen so far at its highest: advancing to a new value yields what
/// the counter may be increased by (0 when the source went down).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HighWater(u64);

impl HighWater {
    pub fn advance(&mut self, now: u64) -> u64 {
        let gained = now.saturating_sub(self.0);
        self.0 = self.0.max(now);
        gained
    }
}

/// One row's series and the high-water marks of its counts.
#[derive(Debug)]
struct RowSeries {
    labels: ServiceLabels,
    packets: HighWater,
    bytes: HighWater,
    flows: HighWater,
    unanswered: HighWater,
}

/// Which series each summary row counts in: the cardinality bound.
#[derive(Debug)]
pub struct SeriesMap {
    max_ports: usize,
    /// Unnamed ports that have a series of their own.
    own_ports: usize,
    rows: HashMap<RowKey, RowSeries>,
}

impl SeriesMap {
    pub fn new(max_ports: usize) -> SeriesMap {
        SeriesMap {
            max_ports,
            own_ports: 0,
            rows: HashMap::new(),
        }
    }

    /// The series of `row`, made on its first sight: its own for a named service and for an
    /// unnamed port while fewer than `max_ports` have one, else its section's `other`.
    fn series(&mut self, row: &Row) -> &mut RowSeries {
        let SeriesMap {
            max_ports,
            own_ports,
            rows,
        } = self;
        rows.entry(row.key()).or_insert_with(|| {
            let labels = if row.service.is_some() {
                own_labels(row)
            } else if *own_ports < *max_ports {
                *own_ports = own_ports.saturating_add(1);
                own_labels(row)
            } else {
                other_labels(row)
            };
            RowSeries {
                labels,
                packets: HighWater::default(),
                bytes: HighWater::default(),
                flows: HighWater::default(),
                unanswered: HighWater::default(),
            }
        })
    }

    /// The labels `key`'s row counts under, once it has been seen.
    #[cfg(test)]
    pub fn labels(&self, key: &RowKey) -> Option<&ServiceLabels> {
        self.rows.get(key).map(|series| &series.labels)
    }
}

fn own_labels(row: &Row) -> ServiceLabels {
    ServiceLabels {
        transport: row.transport.as_str().to_string(),
        service: row.service.clone().unwrap_or_default(),
        port: row.ports.first().map(u16::to_string).unwrap_or_default(),
        status: row.status.as_str().to_string(),
        class: row.class.as_str().to_string(),
        section: row.section().as_str().to_string(),
    }
}

fn other_labels(row: &Row) -> ServiceLabels {
    ServiceLabels {
        transport: row.transport.as_str().to_string(),
        service: String::new(),
        port: "other".to_string(),
        status: String::new(),
        class: String::new(),
        section: row.section().as_str().to_string(),
    }
}

/// Every metric `live --metrics` serves, and what it has counted so far.
#[derive(Debug)]
pub struct Metrics {
    registry: Arc<Registry>,
    series: SeriesMap,
    packets: Family<ServiceLabels, Counter>,
    bytes: Family<ServiceLabels, Counter>,
    flows: Family<ServiceLabels, Counter>,
    unanswered: Family<ServiceLabels, Counter>,
    no_ports_packets: Family<ReasonLabels, Counter>,
    no_ports_bytes: Family<ReasonLabels, Counter>,
    no_ports_seen: HashMap<String, (HighWater, HighWater)>,
    received: (Counter, HighWater),
    dropped: (Counter, HighWater),
    interface_dropped: (Counter, HighWater),
    evicted: (Counter, HighWater),
    active: Gauge,
    capture_errors: Counter,
}

impl Metrics {
    pub fn new(max_ports: usize) -> Metrics {
        let mut registry = Registry::default();
        let packets = Family::<ServiceLabels, Counter>::default();
        let bytes = Family::<ServiceLabels, Counter>::default();
        let flows = Family::<ServiceLabels, Counter>::default();
        let unanswered = Family::<ServiceLabels, Counter>::default();
        let no_ports_packets = Family::<ReasonLabels, Counter>::default();
        let no_ports_bytes = Family::<ReasonLabels, Counter>::default();
        let received = Counter::default();
        let dropped = Counter::default();
        let interface_dropped = Counter::default();
        let evicted = Counter::default();
        let active = Gauge::default();
        let capture_errors = Counter::default();
        // Counters are registered without `_total`: the encoder appends it.
        registry.register(
            "portnote_packets",
            "Packets of flows by the service port (the summary's rows)",
            packets.clone(),
        );
        registry.register(
            "portnote_bytes",
            "Bytes (on the wire) of flows by the service port",
            bytes.clone(),
        );
        registry.register("portnote_flows", "Flows by the service port", flows.clone());
        registry.register(
            "portnote_flows_unanswered",
            "Ended flows whose packets went one way only, by the service port",
            unanswered.clone(),
        );
        registry.register(
            "portnote_packets_without_ports",
            "Packets without ports, by reason",
            no_ports_packets.clone(),
        );
        registry.register(
            "portnote_bytes_without_ports",
            "Bytes of packets without ports, by reason",
            no_ports_bytes.clone(),
        );
        registry.register(
            "portnote_capture_packets_received",
            "Packets the capture received (libpcap)",
            received.clone(),
        );
        registry.register(
            "portnote_capture_packets_dropped",
            "Packets dropped by the kernel because the capture buffer was full (libpcap)",
            dropped.clone(),
        );
        registry.register(
            "portnote_capture_packets_interface_dropped",
            "Packets dropped by the interface or its driver (libpcap)",
            interface_dropped.clone(),
        );
        registry.register(
            "portnote_flows_evicted",
            "Flows ended early because the flow table was full (--max-flows)",
            evicted.clone(),
        );
        registry.register(
            "portnote_flows_active",
            "Flows held in the flow table",
            active.clone(),
        );
        registry.register(
            "portnote_capture_errors",
            "Failed reads of packets or of libpcap's counters",
            capture_errors.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            series: SeriesMap::new(max_ports),
            packets,
            bytes,
            flows,
            unanswered,
            no_ports_packets,
            no_ports_bytes,
            no_ports_seen: HashMap::new(),
            received: (received, HighWater::default()),
            dropped: (dropped, HighWater::default()),
            interface_dropped: (interface_dropped, HighWater::default()),
            evicted: (evicted, HighWater::default()),
            active,
            capture_errors,
        }
    }

    /// Takes in one interval's counts: `snapshot` (ended and live flows), `ended` (ended flows
    /// only), the flow statistics, the flows in the table and libpcap's counters.
    pub fn update(
        &mut self,
        snapshot: &Aggregator,
        ended: &Aggregator,
        stats: &FlowStats,
        live_flows: usize,
        capture: &CaptureStatsReport,
    ) {
        // New rows compete for port series most bytes first (ties by key, so the choice does
        // not depend on hashing).
        let mut rows: Vec<&Row> = snapshot.rows().collect();
        rows.sort_by(|a, b| {
            b.bytes()
                .cmp(&a.bytes())
                .then_with(|| a.key().cmp(&b.key()))
        });
        for row in rows {
            let series = self.series.series(row);
            let labels = &series.labels;
            let gains = [
                (&self.packets, series.packets.advance(row.packets())),
                (&self.bytes, series.bytes.advance(row.bytes())),
                (&self.flows, series.flows.advance(row.flows)),
                (&self.unanswered, 0),
            ];
            // Every series of a row exists from its first update, at 0 if need be, so
            // queries that divide or join them find all four.
            for (family, gain) in gains {
                family.get_or_create(labels).inc_by(gain);
            }
        }
        for row in ended.rows() {
            let series = self.series.series(row);
            let gain = series.unanswered.advance(row.flows_unanswered);
            self.unanswered.get_or_create(&series.labels).inc_by(gain);
        }
        for (reason, counts) in snapshot.no_ports() {
            let reason = reason.to_string();
            let seen = self.no_ports_seen.entry(reason.clone()).or_default();
            let labels = ReasonLabels { reason };
            self.no_ports_packets
                .get_or_create(&labels)
                .inc_by(seen.0.advance(counts.packets));
            self.no_ports_bytes
                .get_or_create(&labels)
                .inc_by(seen.1.advance(counts.bytes));
        }
        for ((counter, seen), now) in [
            (&mut self.received, capture.received),
            (&mut self.dropped, capture.dropped),
            (&mut self.interface_dropped, capture.interface_dropped),
            (&mut self.evicted, stats.evicted),
        ] {
            counter.inc_by(seen.advance(now));
        }
        self.active
            .set(i64::try_from(live_flows).unwrap_or(i64::MAX));
        if capture.error.is_some() {
            self.capture_errors.inc();
        }
    }

    /// The series map, for its labels.
    #[cfg(test)]
    pub fn series(&self) -> &SeriesMap {
        &self.series
    }

    /// The exposition text now, as a scrape gets it.
    #[cfg(test)]
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        encode(&self.registry)
    }

    /// Serves these metrics on `address` (see [`MetricsServer::bind`]).
    pub fn serve(&self, address: &str) -> Result<MetricsServer, Error> {
        MetricsServer::bind(address, Arc::clone(&self.registry))
    }
}

fn encode(registry: &Registry) -> Result<String, std::fmt::Error> {
    let mut text = String::with_capacity(16 * 1024);
    prometheus_client::encoding::text::encode(&mut text, registry)?;
    Ok(text)
}

/// The HTTP server of `/metrics`, on a thread of its own; stopped when dropped.
pub struct MetricsServer {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    address: SocketAddr,
}

impl MetricsServer {
    /// Binds `address` (`HOST:PORT`; port 0 picks a free one) and starts serving `registry`.
    /// An address that does not parse or cannot be bound (port in use, no such local address)
    /// is a usage error, before anything is captured.
    pub fn bind(address: &str, registry: Arc<Registry>) -> Result<MetricsServer, Error> {
        let usage = |why: String| Error::Usage(format!("--metrics {address:?}: {why}"));
        let resolved = address
            .to_socket_addrs()
            .map_err(|e| usage(format!("expected HOST:PORT ({e})")))?
            .next()
            .ok_or_else(|| usage("the host has no address".to_string()))?;
        let listener = TcpListener::bind(resolved).map_err(|e| usage(e.to_string()))?;
        let bound = listener.local_addr().map_err(|e| usage(e.to_string()))?;
        let server =
            tiny_http::Server::from_listener(listener, None).map_err(|e| usage(e.to_string()))?;
        let server = Arc::new(server);
        let serving = Arc::clone(&server);
        let thread = std::thread::Builder::new()
            .name("metrics".to_string())
            .spawn(move || serve(&serving, &registry))
            .map_err(|e| usage(format!("starting the server thread: {e}")))?;
        Ok(MetricsServer {
            server,
            thread: Some(thread),
            address: bound,
        })
    }

    /// The address bound (with the port picked, for port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            // Unblocked, the thread returns; had it panicked, there would be nothing to undo.
            let _ = thread.join();
        }
    }
}

/// Answers requests until the server is unblocked: `GET /metrics` the exposition text, `/` a
/// pointer to it, anything else 404 (405 for another method on `/metrics`).
fn serve(server: &tiny_http::Server, registry: &Registry) {
    use tiny_http::{Header, Method, Response};
    for request in server.incoming_requests() {
        let path = request.url().split('?').next().unwrap_or_default();
        let response = match (request.method(), path) {
            (Method::Get | Method::Head, "/metrics") => match encode(registry) {
                Ok(body) => with_type(Response::from_string(body), CONTENT_TYPE),
                Err(_) => plain("encoding the metrics failed\n", 500),
            },
            (_, "/metrics") => plain("only GET\n", 405),
            (Method::Get | Method::Head, "/") => plain("portnote: metrics at /metrics\n", 200),
            _ => plain("not found: portnote serves /metrics\n", 404),
        };
        // A scrape that fails (the client went away) is that scrape's problem only.
        let _ = request.respond(response);
    }

    fn plain(body: &str, status: u16) -> Response<std::io::Cursor<Vec<u8>>> {
        with_type(
            Response::from_string(body).with_status_code(status),
            "text/plain; charset=utf-8",
        )
    }

    fn with_type<R: std::io::Read>(response: Response<R>, content_type: &str) -> Response<R> {
        // Both types are ASCII constants, so the header always builds.
        match Header::from_bytes(&b"Content-Type"[..], content_type.as_bytes()) {
            Ok(header) => response.with_header(header),
            Err(()) => response,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::test_frames::{ethernet, udp};
    use portnote::decode::DecodeOptions;
    use portnote::linktype::LinkType;
    use portnote::pipeline::Pipeline;
    use portnote::registry::Registry;
    use portnote::transport::Transport;

    fn count(pipeline: &mut Pipeline<'_>, data: &[u8], secs: i64) {
        pipeline.count(&ethernet(data, secs));
    }

    fn capture() -> CaptureStatsReport {
        CaptureStatsReport {
            interface: "test0".to_string(),
            linktype: LinkType::ETHERNET,
            filter: None,
            received: 0,
            dropped: 0,
            interface_dropped: 0,
            elapsed_seconds: 1.0,
            stopped_by: None,
            error: None,
        }
    }

    fn update(metrics: &mut Metrics, pipeline: &Pipeline<'_>) {
        let (snapshot, stats) = pipeline.snapshot();
        metrics.update(
            &snapshot,
            pipeline.ended(),
            &stats,
            pipeline.live_flows(),
            &capture(),
        );
    }

    /// The sum of `metric`'s samples whose labels include every one of `labels`.
    fn value(text: &str, metric: &str, labels: &[(&str, &str)]) -> u64 {
        text.lines()
            .filter_map(|line| line.strip_prefix(metric))
            .filter(|rest| rest.starts_with('{') || rest.starts_with(' '))
            .filter(|rest| {
                labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
            })
            .map(|rest| rest.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum()
    }

    fn frame_bytes(payload: usize) -> u64 {
        (14 + 20 + 8 + payload) as u64
    }

    #[test]
    fn high_water_gives_only_what_was_gained_above_the_highest() {
        let mut seen = HighWater::default();
        assert_eq!(seen.advance(10), 10);
        assert_eq!(seen.advance(15), 5);
        assert_eq!(seen.advance(12), 0, "a source that went down adds nothing");
        assert_eq!(seen.advance(14), 0, "nor does getting back below the mark");
        assert_eq!(seen.advance(20), 5);
    }

    #[test]
    fn unnamed_ports_beyond_the_bound_fold_into_other_of_their_section_most_bytes_first() {
        let registry = Registry::embedded().unwrap();
        let mut pipeline = Pipeline::new(&registry, DecodeOptions::default(), 64);
        let mut metrics = Metrics::new(2);
        // Unassigned system ports 4, 6, 8 with 300, 200 and 100 bytes of payload; a named
        // service (domain); a dynamic unnamed port (60000, tied with 61000: the lower port).
        for (port, payload) in [(8u16, 100usize), (6, 200), (4, 300)] {
            count(&mut pipeline, &udp(40000, port, false, payload), 100);
        }
        count(&mut pipeline, &udp(40001, 53, false, 50), 100);
        count(&mut pipeline, &udp(61000, 60000, false, 10), 100);
        update(&mut metrics, &pipeline);
        let text = metrics.encode().unwrap();

        let bytes = "portnote_bytes_total";
        assert_eq!(value(&text, bytes, &[("port", "4")]), frame_bytes(300));
        assert_eq!(value(&text, bytes, &[("port", "6")]), frame_bytes(200));
        assert_eq!(
            value(&text, bytes, &[("port", "8")]),
            0,
            "no series of its own"
        );
        assert_eq!(
            value(
                &text,
                bytes,
                &[("port", "other"), ("section", "unassigned")]
            ),
            frame_bytes(100)
        );
        assert_eq!(
            value(&text, bytes, &[("port", "other"), ("section", "dynamic")]),
            frame_bytes(10)
        );
        assert_eq!(
            value(
                &text,
                bytes,
                &[
                    ("service", "domain"),
                    ("port", "53"),
                    ("status", "assigned")
                ]
            ),
            frame_bytes(50),
            "named services are not bounded"
        );
        assert_eq!(
            value(&text, "portnote_packets_total", &[("port", "other")]),
            2
        );

        // Port 10 now carries the most bytes of all, and port 8 more than 4: series stay as
        // they were made, so 10 and 8 count in `other`, 4 keeps its own.
        count(&mut pipeline, &udp(40002, 10, false, 1000), 101);
        count(&mut pipeline, &udp(40000, 8, false, 900), 101);
        update(&mut metrics, &pipeline);
        let text = metrics.encode().unwrap();
        assert_eq!(value(&text, bytes, &[("port", "4")]), frame_bytes(300));
        assert_eq!(value(&text, bytes, &[("port", "10")]), 0);
        assert_eq!(
            value(
                &text,
                bytes,
                &[("port", "other"), ("section", "unassigned")]
            ),
            frame_bytes(100) + frame_bytes(1000) + frame_bytes(900)
        );
        let key = RowKey::Port(Transport::Udp, 10);
        assert_eq!(metrics.series().labels(&key).unwrap().port, "other");
        // Every packet with ports is in exactly one series.
        assert_eq!(value(&text, "portnote_packets_total", &[]), 7);
    }

    #[test]
    fn counters_never_go_down_and_unanswered_flows_count_once_ended() {
        let registry = Registry::embedded().unwrap();
        let mut pipeline = Pipeline::new(&registry, DecodeOptions::default(), 64);
        let mut metrics = Metrics::new(10);
        count(&mut pipeline, &udp(40000, 4, false, 100), 100);
        update(&mut metrics, &pipeline);
        let text = metrics.encode().unwrap();
        let port4 = [("transport", "udp"), ("port", "4")];
        assert_eq!(value(&text, "portnote_packets_total", &port4), 1);
        assert_eq!(value(&text, "portnote_flows_total", &port4), 1);
        // One way so far, but the flow is live: not counted unanswered yet (the series exists).
        assert!(text.contains("portnote_flows_unanswered_total{"), "{text}");
        assert_eq!(value(&text, "portnote_flows_unanswered_total", &port4), 0);
        assert_eq!(value(&text, "portnote_flows_active", &[]), 1);

        // A snapshot with less (another pipeline's, as after a flow moved rows) takes nothing
        // away.
        let empty = Pipeline::new(&registry, DecodeOptions::default(), 64);
        update(&mut metrics, &empty);
        let text = metrics.encode().unwrap();
        assert_eq!(value(&text, "portnote_packets_total", &port4), 1);
        assert_eq!(
            value(&text, "portnote_bytes_total", &port4),
            frame_bytes(100)
        );
        assert_eq!(
            value(&text, "portnote_flows_active", &[]),
            0,
            "a gauge follows"
        );

        // The flow ends unanswered when the input ends.
        let (ended, stats) = pipeline.finish();
        metrics.update(&ended, &ended, &stats, 0, &capture());
        let text = metrics.encode().unwrap();
        assert_eq!(value(&text, "portnote_flows_unanswered_total", &port4), 1);
        assert_eq!(value(&text, "portnote_flows_total", &port4), 1);
    }

    #[test]
    fn packets_without_ports_and_capture_health_are_counted() {
        let registry = Registry::embedded().unwrap();
        let mut pipeline = Pipeline::new(&registry, DecodeOptions::default(), 64);
        let mut metrics = Metrics::new(10);
        let mut arp = udp(1, 2, false, 0);
        arp[12] = 0x08; // EtherType ARP: no IP, no ports
        arp[13] = 0x06;
        count(&mut pipeline, &arp, 100);
        let (snapshot, stats) = pipeline.snapshot();
        let mut health = capture();
        health.received = 7;
        health.dropped = 2;
        health.interface_dropped = 1;
        metrics.update(&snapshot, pipeline.ended(), &stats, 0, &health);
        health.received = 5; // a counter that wrapped or was reset: nothing is taken away
        health.error = Some("stats failed".to_string());
        metrics.update(&snapshot, pipeline.ended(), &stats, 0, &health);
        let text = metrics.encode().unwrap();
        assert_eq!(
            value(
                &text,
                "portnote_packets_without_ports_total",
                &[("reason", "not ip (ethertype 0x0806)")]
            ),
            1,
            "{text}"
        );
        assert_eq!(
            value(&text, "portnote_capture_packets_received_total", &[]),
            7
        );
        assert_eq!(
            value(&text, "portnote_capture_packets_dropped_total", &[]),
            2
        );
        assert_eq!(
            value(
                &text,
                "portnote_capture_packets_interface_dropped_total",
                &[]
            ),
            1
        );
        assert_eq!(value(&text, "portnote_capture_errors_total", &[]), 1);
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn the_server_answers_scrapes_and_a_bad_address_is_a_usage_error() {
        let metrics = Metrics::new(10);
        let server = metrics.serve("127.0.0.1:0").unwrap();
        let base = format!("http://{}", server.address());
        let mut response = ureq::get(&format!("{base}/metrics")).call().unwrap();
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            CONTENT_TYPE
        );
        let body = response.body_mut().read_to_string().unwrap();
        assert!(
            body.contains("# TYPE portnote_capture_packets_received counter"),
            "{body}"
        );
        assert!(body.ends_with("# EOF\n"));
        match ureq::get(&format!("{base}/elsewhere")).call() {
            Err(ureq::Error::StatusCode(404)) => {}
            other => panic!("expected 404, got {other:?}"),
        }

        let taken = server.address().to_string();
        for bad in [taken.as_str(), "nonsense", "127.0.0.1", "127.0.0.1:99999"] {
            match metrics.serve(bad) {
                Err(Error::Usage(message)) => assert!(message.contains("--metrics"), "{message}"),
                Err(other) => panic!("{bad}: not a usage error: {other}"),
                Ok(_) => panic!("{bad} was accepted"),
            }
        }
    }
}
