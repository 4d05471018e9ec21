//! `--ipfix HOST:PORT` (`flows`, `live`): every flow record sent to an IPFIX collector over
//! UDP, as [`portnote::report::ipfix`] encodes it.
//!
//! A collector that is down or unreachable never stops the run: the first failed send is
//! reported on stderr, later ones are counted and the count is reported at the end. On `live`,
//! flows still running are exported every `--active-timeout` as interim records with the
//! counts since their last export, and a message never waits more than [`MAX_WAIT`] to be sent.

use crate::cli::IpfixArgs;
use portnote::flow::{FlowRecord, FlowSink};
use portnote::pipeline::Pipeline;
use portnote::registry::Registry;
use portnote::report::ipfix::{uniflows, DeltaTracker, IpfixEncoder};
use portnote::Error;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant, SystemTime};

/// The observation domain portnote's messages name (one per exporter).
const OBSERVATION_DOMAIN: u32 = 1;
/// On `live`, the longest a started message waits for more records before it is sent.
pub const MAX_WAIT: Duration = Duration::from_secs(1);

/// A connected UDP exporter.
pub struct IpfixExport {
    socket: UdpSocket,
    collector: String,
    encoder: IpfixEncoder,
    deltas: DeltaTracker,
    messages: u64,
    failed: u64,
    last_error: Option<io::Error>,
    last_flush: Instant,
}

impl IpfixExport {
    /// The exporter `args` ask for, if any: `--ipfix` resolved and a UDP socket connected to it.
    pub fn connect(args: &IpfixArgs) -> Result<Option<IpfixExport>, Error> {
        let Some(collector) = &args.ipfix else {
            return Ok(None);
        };
        let unusable = |why: String| Error::Usage(format!("--ipfix {collector}: {why}"));
        let address: SocketAddr = collector
            .to_socket_addrs()
            .map_err(|e| unusable(e.to_string()))?
            .next()
            .ok_or_else(|| unusable("the name has no address".to_string()))?;
        let local: SocketAddr = if address.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local).map_err(|e| unusable(e.to_string()))?;
        socket
            .connect(address)
            .map_err(|e| unusable(e.to_string()))?;
        Ok(Some(IpfixExport {
            socket,
            collector: collector.clone(),
            encoder: IpfixEncoder::new(OBSERVATION_DOMAIN, usize::from(args.ipfix_mtu)),
            deltas: DeltaTracker::default(),
            messages: 0,
            failed: 0,
            last_error: None,
            last_flush: Instant::now(),
        }))
    }

    /// Encode `record` (what of it was not exported yet); send the message it filled, if any.
    pub fn export(&mut self, registry: &Registry, record: &FlowRecord) {
        let (to_server, to_client) = self.deltas.take(record);
        let now = export_time();
        for uniflow in uniflows(record, registry, to_server, to_client) {
            if let Some(message) = self.encoder.push(&uniflow, now) {
                self.send(&message);
            }
        }
    }

    /// Send the message being filled, if it holds a record.
    pub fn flush(&mut self) {
        self.last_flush = Instant::now();
        if let Some(message) = self.encoder.flush(export_time()) {
            self.send(&message);
        }
    }

    /// [`flush`](Self::flush) when the last one is [`MAX_WAIT`] ago.
    pub fn flush_if_waited(&mut self, now: Instant) {
        if now.duration_since(self.last_flush) >= MAX_WAIT {
            self.flush();
        }
    }

    fn send(&mut self, message: &[u8]) {
        self.messages = self.messages.saturating_add(1);
        if let Err(e) = self.socket.send(message) {
            if self.failed == 0 {
                eprintln!(
                    "portnote: IPFIX export to {}: {e}; going on (later failures are counted)",
                    self.collector
                );
            }
            self.failed = self.failed.saturating_add(1);
            self.last_error = Some(e);
        }
    }

    /// Send what is left and report the failures, if there were any, on stderr.
    pub fn finish(mut self) {
        self.flush();
        if let Some(e) = &self.last_error {
            eprintln!(
                "portnote: IPFIX export to {}: {} of {} messages not sent (last error: {e})",
                self.collector, self.failed, self.messages
            );
        }
    }
}

/// Seconds since the epoch, the messages' export time.
fn export_time() -> u32 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
}

/// `live`'s second sink: every ended flow to the exporter, when there is one.
pub struct LiveExport {
    export: Option<IpfixExport>,
    active_timeout: Duration,
    next_active: Instant,
}

impl LiveExport {
    pub fn new(export: Option<IpfixExport>, active_timeout: Duration) -> LiveExport {
        LiveExport {
            export,
            active_timeout,
            next_active: Instant::now() + active_timeout,
        }
    }

    /// Between packets: every `--active-timeout`, interim records of the flows still live
    /// (those with packets since their last export); and the waiting message sent after
    /// [`MAX_WAIT`].
    pub fn tick(pipeline: &mut Pipeline<'_, LiveExport>, now: Instant) {
        let sink = pipeline.sink_mut();
        if sink.export.is_none() {
            return;
        }
        if now >= sink.next_active {
            sink.next_active = now + sink.active_timeout;
            pipeline.snapshot_records();
        }
        if let Some(export) = pipeline.sink_mut().export.as_mut() {
            export.flush_if_waited(now);
        }
    }

    /// Send what is left; report failures.
    pub fn finish(self) {
        if let Some(export) = self.export {
            export.finish();
        }
    }
}

impl FlowSink for LiveExport {
    fn flow_ended(&mut self, registry: &Registry, record: FlowRecord) {
        if let Some(export) = self.export.as_mut() {
            export.export(registry, &record);
        }
    }
}
