//! `summary --format html`: one self-contained page over a [`SummaryReport`]. Inline CSS, charts
//! drawn here as inline SVG, and a few lines of inline JavaScript that sort a table when its
//! header is clicked (the tables read the same without it). Nothing is fetched at view time.
//!
//! The markup is well-formed XML as well as HTML: every element is closed, void elements are
//! self-closed, and the only entities are XML's five, so a strict XML parser can check it. Every
//! string that comes from a capture or the registry (file names, service names, notes, errors,
//! reasons) goes through [`escape`].
//!
//! The page stays small whatever the input: each table shows at most `--top` rows and never
//! more than [`MAX_TABLE_ROWS`]; the bar chart shows [`MAX_BARS`] services and "other"; the
//! timeline at most [`MAX_TIMELINE_BARS`] bars; at most [`MAX_INPUTS_LISTED`] inputs are named;
//! strings are cut to [`MAX_TEXT`] characters. Takes finished data; computes no counts of its own
//! beyond sums for the charts.

use crate::aggregate::timeline::Bucket;
use crate::aggregate::timeline::Lane;
use crate::aggregate::Section;
use crate::report::summary::{short_ports, RowReport, SummaryReport};
use crate::report::timeline::{bucket_start, values};
use crate::report::units::{human_bytes, human_count, human_duration, share_percent};
use std::fmt::Write as _;
use std::io::{self, Write};

/// Rows per table at most, whatever `--top` says: JSON and CSV carry every row.
pub const MAX_TABLE_ROWS: usize = 300;
/// Services in the bar chart; the rest are one "other" bar.
pub const MAX_BARS: usize = 20;
/// Bars in the timeline chart: the timeline's buckets are merged down to this many.
pub const MAX_TIMELINE_BARS: usize = 120;
/// Input files named in the header.
pub const MAX_INPUTS_LISTED: usize = 50;
/// Characters kept of any one string from a capture or the registry.
pub const MAX_TEXT: usize = 240;

/// What the page needs besides the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlOptions {
    /// Rows shown per table (0: all, up to [`MAX_TABLE_ROWS`]).
    pub top: usize,
    /// The registry in use, in words.
    pub registry: String,
}

/// Write one page holding every report (one, or one per file with `--per-file`).
pub fn write_html(
    out: &mut dyn Write,
    reports: &[SummaryReport],
    options: &HtmlOptions,
) -> io::Result<()> {
    let mut page = String::with_capacity(64 * 1024);
    render_page(&mut page, reports, options)
        .map_err(|_| io::Error::other("formatting the HTML report failed"))?;
    out.write_all(page.as_bytes())
}

/// `text` made safe for element content and quoted attribute values: the five XML specials
/// become entities, control characters that XML forbids become U+FFFD, and the text is cut to
/// [`MAX_TEXT`] characters.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_TEXT * 2));
    for (count, c) in text.chars().enumerate() {
        if count == MAX_TEXT {
            out.push('…');
            break;
        }
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1b1b1b; --muted: #5c5c5c;
  --rule: #d4d4d4; --alert-bg: #fdf1e8; --alert-edge: #d55e00;
  --assigned: #0072b2; --unassigned: #d55e00; --dynamic: #009e73; --noports: #8a8a8a; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #17191d; --fg: #e6e6e6; --muted: #a6a6a6; --rule: #3b3e45;
    --alert-bg: #35241a; --alert-edge: #f0864a;
    --assigned: #56b4e9; --unassigned: #f0864a; --dynamic: #3cc7a0; --noports: #a3a3a3; } }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg);
  color: var(--fg); max-width: 1150px; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.5rem; margin: .2rem 0 .6rem; }
h2 { font-size: 1.15rem; margin: 1.6rem 0 .4rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; font-size: .92rem; }
th, td { padding: .22rem .5rem; border-bottom: 1px solid var(--rule); text-align: left;
  vertical-align: top; }
th { font-weight: 600; white-space: nowrap; }
.n { text-align: right; white-space: nowrap; }
td.addr { white-space: nowrap; }
div.scroll { overflow-x: auto; }
table.sortable th { cursor: pointer; }
th[aria-sort="descending"]::after { content: " \25BE"; }
th[aria-sort="ascending"]::after { content: " \25B4"; }
section.alert { border-left: 6px solid var(--alert-edge); background: var(--alert-bg);
  padding: .2rem 1rem .8rem; margin-top: 1.2rem; }
section.alert h2 { margin-top: .6rem; }
.muted, p.more { color: var(--muted); }
.tag { font-weight: 600; }
.tag.unassigned { color: var(--unassigned); }
.swatch { display: inline-block; width: .85em; height: .85em; margin-right: .3em;
  vertical-align: -.05em; border: 1px solid var(--fg); }
.swatch.assigned, svg .assigned { background: var(--assigned); fill: var(--assigned); }
.swatch.unassigned, svg .unassigned { background: var(--unassigned); fill: var(--unassigned); }
.swatch.dynamic, svg .dynamic { background: var(--dynamic); fill: var(--dynamic); }
.swatch.no_ports, svg .no_ports { background: var(--noports); fill: var(--noports); }
ul.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .3rem 1.4rem; }
svg { width: 100%; height: auto; display: block; }
svg text { fill: var(--fg); font-size: 12px; }
svg text.value { fill: var(--muted); }
svg line { stroke: var(--rule); }
footer { margin-top: 2rem; color: var(--muted); font-size: .85rem; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  section, figure { break-inside: avoid; }
  table.sortable th { cursor: auto; }
}
"#;

/// Sort a table by the clicked column; numbers by value (thousands commas ignored). Written
/// without `<` or `&` and inside CDATA, so the page stays well-formed XML.
const SCRIPT: &str = r#"//<![CDATA[
document.querySelectorAll("table.sortable th").forEach(function (th) {
  th.tabIndex = 0;
  var sort = function () {
    var table = th.closest("table");
    var body = table.tBodies[0];
    var column = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = th.classList.contains("n");
    var descending = th.getAttribute("aria-sort") !== "descending";
    th.parentNode.querySelectorAll("th").forEach(function (other) {
      other.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var key = function (row) {
      var text = row.cells[column] ? row.cells[column].textContent : "";
      return numeric ? (parseFloat(text.replace(/,/g, "")) || 0) : text;
    };
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      var order = numeric ? x - y : String(x).localeCompare(String(y));
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  };
  th.addEventListener("click", sort);
  th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sort(); } });
});
// A link to report.html#sort=assigned:4 opens with that section sorted by that column.
var wanted = /^#sort=([a-z-]+):([0-9]+)$/.exec(location.hash);
var section = wanted ? document.getElementById(wanted[1]) : null;
var header = section ? section.querySelectorAll("th")[Number(wanted[2])] : null;
if (header) { header.click(); }
//]]>"#;

fn render_page(
    page: &mut String,
    reports: &[SummaryReport],
    options: &HtmlOptions,
) -> std::fmt::Result {
    let title = match reports.first().and_then(|r| r.inputs.first()) {
        Some(first) => {
            let others = reports
                .iter()
                .map(|r| r.inputs.len())
                .sum::<usize>()
                .saturating_sub(1);
            if others > 0 {
                format!("portnote summary: {} and {others} more", first.file)
            } else {
                format!("portnote summary: {}", first.file)
            }
        }
        None => "portnote summary".to_string(),
    };
    write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
         <meta name=\"generator\" content=\"portnote {}\"/>\n<title>{}</title>\n<style>{STYLE}</style>\n\
         </head>\n<body>\n",
        env!("CARGO_PKG_VERSION"),
        escape(&title)
    )?;
    for report in reports {
        render_report(page, report, options)?;
    }
    write!(
        page,
        "<footer>Made by portnote {} (<code>portnote summary --format html</code>). Ports are \
         attributed per flow by the rule in portnote's README; <code>--format json</code> and \
         <code>--format csv</code> carry every row.</footer>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    )
}

fn render_report(
    page: &mut String,
    report: &SummaryReport,
    options: &HtmlOptions,
) -> std::fmt::Result {
    page.push_str("<article>\n<header>\n<h1>portnote summary</h1>\n");
    render_facts(page, report, options)?;
    page.push_str("</header>\n");

    page.push_str("<section class=\"alert\" id=\"unassigned\">\n<h2>Unassigned and reserved ports (no IANA service: worth a look)</h2>\n");
    render_rows(page, report, Section::Unassigned, options.top)?;
    page.push_str("</section>\n");

    page.push_str("<section id=\"services\">\n<h2>Bytes by service</h2>\n");
    render_bar_chart(page, report)?;
    page.push_str("</section>\n");

    page.push_str("<section id=\"timeline\">\n<h2>Bytes over time</h2>\n");
    render_timeline(page, report)?;
    page.push_str("</section>\n");

    page.push_str("<section id=\"assigned\">\n<h2>Assigned services</h2>\n");
    render_rows(page, report, Section::Assigned, options.top)?;
    page.push_str("</section>\n");

    page.push_str(
        "<section id=\"dynamic\">\n<h2>Dynamic-only traffic (service port 49152-65535)</h2>\n",
    );
    render_rows(page, report, Section::Dynamic, options.top)?;
    page.push_str("</section>\n");

    page.push_str("<section id=\"no-ports\">\n<h2>Packets without ports</h2>\n");
    render_no_ports(page, report, options.top)?;
    page.push_str("</section>\n</article>\n");
    Ok(())
}

fn render_facts(
    page: &mut String,
    report: &SummaryReport,
    options: &HtmlOptions,
) -> std::fmt::Result {
    let t = &report.totals;
    page.push_str("<dl class=\"facts\">\n<dt>Captures</dt><dd>");
    for (i, input) in report.inputs.iter().take(MAX_INPUTS_LISTED).enumerate() {
        if i > 0 {
            page.push_str("<br/>");
        }
        write!(
            page,
            "<span class=\"file\">{}</span> <span class=\"muted\">({} packets)</span>",
            escape(&input.file),
            human_count(input.packets)
        )?;
        if let Some(error) = &input.error {
            write!(
                page,
                " <span class=\"tag unassigned\">error: {}</span>",
                escape(error)
            )?;
        }
    }
    let unlisted = report.inputs.len().saturating_sub(MAX_INPUTS_LISTED);
    if unlisted > 0 {
        write!(
            page,
            "<br/><span class=\"muted\">and {} more</span>",
            human_count(unlisted as u64)
        )?;
    }
    page.push_str("</dd>\n<dt>Time span</dt><dd>");
    match (t.first_seen, t.last_seen) {
        (Some(first), Some(last)) => {
            // Under a second, the table's `0.4 s` says little: milliseconds.
            let duration = if t.duration_seconds < 1.0 {
                format!("{:.1} ms", t.duration_seconds * 1000.0)
            } else {
                human_duration(t.duration_seconds)
            };
            write!(page, "{first} to {last} ({duration})")?;
        }
        _ => page.push_str("no packets"),
    }
    write!(
        page,
        "</dd>\n<dt>Totals</dt><dd>{} packets ({} with ports, {} without), {} bytes ({}), {} flows</dd>\n",
        human_count(t.packets),
        human_count(t.packets_with_ports),
        human_count(t.packets_without_ports),
        human_count(t.bytes),
        human_bytes(t.bytes),
        human_count(t.flows)
    )?;
    writeln!(
        page,
        "<dt>Flows</dt><dd>expired {}, evicted {}, service decisions revised {}; {} capture error(s)</dd>",
        human_count(t.flows_expired),
        human_count(t.flows_evicted),
        human_count(t.decisions_revised),
        t.capture_errors
    )?;
    write!(
        page,
        "<dt>Registry</dt><dd>{}</dd>\n</dl>\n",
        escape(&options.registry)
    )
}

/// A row's name as the tables and charts show it: its service, or its status when unnamed.
fn row_name(r: &RowReport) -> String {
    r.service
        .clone()
        .unwrap_or_else(|| r.status.as_str().to_string())
}

fn servers_cell(r: &RowReport) -> String {
    let mut cell: Vec<String> = r
        .servers
        .iter()
        .take(3)
        .map(|a| escape(&a.to_string()))
        .collect();
    let more = r.servers.len().saturating_sub(3);
    if more > 0 || r.servers_truncated {
        let plus = if r.servers_truncated { "+" } else { "" };
        cell.push(format!(
            "<span class=\"muted\">and {more}{plus} more</span>"
        ));
    }
    cell.join("<br/>")
}

fn clients_cell(r: &RowReport) -> String {
    if r.clients_truncated {
        format!("{}+", human_count(r.clients as u64))
    } else {
        human_count(r.clients as u64)
    }
}

/// How many rows a table shows of `all`.
fn shown_rows(all: usize, top: usize) -> usize {
    let limit = if top == 0 {
        MAX_TABLE_ROWS
    } else {
        top.min(MAX_TABLE_ROWS)
    };
    all.min(limit)
}

fn render_rows(
    page: &mut String,
    report: &SummaryReport,
    section: Section,
    top: usize,
) -> std::fmt::Result {
    let rows: Vec<&RowReport> = report.rows_in(section).collect();
    if rows.is_empty() {
        page.push_str("<p class=\"muted\">None.</p>\n");
        return Ok(());
    }
    let name_column = match section {
        Section::Assigned => "service",
        Section::Unassigned => "status",
        Section::Dynamic => "service",
    };
    write!(
        page,
        "<div class=\"scroll\"><table class=\"sortable\">\n<thead><tr><th>transport</th><th>{name_column}</th><th>port</th>\
         <th class=\"n\">flows</th><th class=\"n\">packets</th><th class=\"n\">bytes</th>\
         <th class=\"n\">share</th><th class=\"n\" title=\"bytes sent to the server\">to server</th>\
         <th class=\"n\" title=\"bytes sent to the client\">to client</th>\
         <th class=\"n\" title=\"flows whose packets went one way only\">unanswered</th>\
         <th class=\"n\" title=\"flows answered only by resets or ICMP port unreachable\">refused</th>"
    )?;
    match section {
        Section::Assigned => page.push_str("<th>note</th>"),
        Section::Unassigned | Section::Dynamic => {
            page.push_str("<th>servers</th><th class=\"n\">clients</th>");
        }
    }
    page.push_str("</tr></thead>\n<tbody>\n");
    let shown = shown_rows(rows.len(), top);
    for r in rows.iter().take(shown) {
        let name = match section {
            Section::Unassigned => format!(
                "<span class=\"tag unassigned\">{}</span>",
                escape(r.status.as_str())
            ),
            _ => escape(&row_name(r)),
        };
        write!(
            page,
            "<tr data-row=\"{}:{}:{}\"><td>{}</td><td>{name}</td><td>{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
            section.as_str(),
            r.transport,
            r.ports.first().copied().unwrap_or(0),
            r.transport,
            escape(&short_ports(&r.ports)),
            human_count(r.flows),
            human_count(r.packets),
            human_count(r.bytes),
            share_percent(r.share),
            human_count(r.bytes_to_server),
            human_count(r.bytes_to_client),
            human_count(r.flows_unanswered),
            human_count(r.flows_refused),
        )?;
        match section {
            Section::Assigned => {
                let note = r
                    .unauthorized
                    .as_deref()
                    .map(|n| format!("unauthorized use reported: {}", escape(n)))
                    .unwrap_or_default();
                write!(page, "<td>{note}</td>")?;
            }
            Section::Unassigned | Section::Dynamic => write!(
                page,
                "<td class=\"addr\">{}</td><td class=\"n\">{}</td>",
                servers_cell(r),
                clients_cell(r)
            )?,
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</tbody>\n</table></div>\n");
    if shown < rows.len() {
        writeln!(
            page,
            "<p class=\"more\">{} more rows not shown (<code>--top</code>; at most {MAX_TABLE_ROWS} \
             here). <code>--format json</code> and <code>--format csv</code> carry every row.</p>",
            human_count((rows.len() - shown) as u64)
        )?;
    }
    Ok(())
}

fn render_no_ports(page: &mut String, report: &SummaryReport, top: usize) -> std::fmt::Result {
    if report.no_ports_detail.is_empty() {
        page.push_str("<p class=\"muted\">None.</p>\n");
        return Ok(());
    }
    page.push_str(
        "<div class=\"scroll\"><table class=\"sortable\">\n<thead><tr><th>reason</th><th class=\"n\">packets</th>\
         <th class=\"n\">bytes</th></tr></thead>\n<tbody>\n",
    );
    let shown = shown_rows(report.no_ports_detail.len(), top);
    for (reason, detail) in report.no_ports_detail.iter().take(shown) {
        let reason = escape(reason);
        writeln!(
            page,
            "<tr data-row=\"no_ports:{reason}\"><td>{reason}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            human_count(detail.packets),
            human_count(detail.bytes)
        )?;
    }
    page.push_str("</tbody>\n</table></div>\n");
    if shown < report.no_ports_detail.len() {
        writeln!(
            page,
            "<p class=\"more\">{} more reasons not shown.</p>",
            human_count((report.no_ports_detail.len() - shown) as u64)
        )?;
    }
    Ok(())
}

/// The lane (and CSS class) of a section.
fn lane_class(section: Section) -> &'static str {
    Lane::of_section(section).as_str()
}

/// Horizontal bars: the [`MAX_BARS`] rows with the most bytes, then "other".
fn render_bar_chart(page: &mut String, report: &SummaryReport) -> std::fmt::Result {
    let mut rows: Vec<&RowReport> = report.rows.iter().collect();
    if rows.is_empty() {
        page.push_str("<p class=\"muted\">No packets with ports.</p>\n");
        return Ok(());
    }
    rows.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.ports.cmp(&b.ports)));
    let rest = rows.split_off(rows.len().min(MAX_BARS));
    let other_bytes: u64 = rest.iter().map(|r| r.bytes).sum();
    let total = report.totals.bytes.max(1);
    let max = rows
        .iter()
        .map(|r| r.bytes)
        .chain(std::iter::once(other_bytes))
        .max()
        .unwrap_or(0)
        .max(1);
    const ROW: usize = 22;
    const LABEL: f64 = 250.0;
    const BAR: f64 = 560.0;
    let bars = rows.len() + usize::from(!rest.is_empty());
    let height = bars * ROW + 6;
    write!(
        page,
        "<figure>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 960 {height}\" role=\"img\" \
         aria-label=\"Bytes by service\">\n"
    )?;
    let bar = |page: &mut String,
               i: usize,
               class: &str,
               label: &str,
               bytes: u64|
     -> std::fmt::Result {
        let y = i * ROW + 3;
        let width = (bytes as f64 / max as f64 * BAR).max(1.0);
        let text_y = y + 15;
        writeln!(
            page,
            "<g><title>{label}: {} bytes</title><text x=\"{}\" y=\"{text_y}\" text-anchor=\"end\">{label}</text>\
             <rect class=\"{class}\" x=\"{LABEL}\" y=\"{y}\" width=\"{width:.1}\" height=\"{}\"/>\
             <text class=\"value\" x=\"{:.1}\" y=\"{text_y}\">{} ({})</text></g>",
            human_count(bytes),
            LABEL - 8.0,
            ROW - 5,
            LABEL + width + 6.0,
            human_bytes(bytes),
            share_percent(bytes as f64 / total as f64),
        )
    };
    for (i, r) in rows.iter().enumerate() {
        let label = format!(
            "{} {}/{}",
            escape(&row_name(r)),
            escape(&short_ports(&r.ports)),
            r.transport
        );
        bar(page, i, lane_class(r.section), &label, r.bytes)?;
    }
    if !rest.is_empty() {
        let label = format!("other ({} rows)", human_count(rest.len() as u64));
        bar(page, rows.len(), "no_ports", &label, other_bytes)?;
    }
    page.push_str("</svg>\n");
    page.push_str("<figcaption><ul class=\"legend\">");
    for section in [Section::Assigned, Section::Unassigned, Section::Dynamic] {
        write!(
            page,
            "<li><span class=\"swatch {}\"></span>{}</li>",
            lane_class(section),
            section_label(section)
        )?;
    }
    page.push_str("</ul></figcaption>\n</figure>\n");
    Ok(())
}

fn section_label(section: Section) -> &'static str {
    match section {
        Section::Assigned => "assigned",
        Section::Unassigned => "unassigned or reserved",
        Section::Dynamic => "dynamic only",
    }
}

fn lane_label(lane: Lane) -> &'static str {
    match lane {
        Lane::Assigned => "assigned",
        Lane::Unassigned => "unassigned or reserved",
        Lane::Dynamic => "dynamic only",
        Lane::NoPorts => "no ports",
    }
}

/// A bucket width for people: `500 µs`, `10 ms`, `5 s`, `30 min`, `6 h`, `7 d`.
fn human_width(nanos: f64) -> String {
    let units = [
        (86_400e9, "d"),
        (3_600e9, "h"),
        (60e9, "min"),
        (1e9, "s"),
        (1e6, "ms"),
        (1e3, "µs"),
    ];
    for (size, unit) in units {
        if nanos >= size {
            return format!("{} {unit}", (nanos / size * 1000.0).round() / 1000.0);
        }
    }
    format!("{nanos} ns")
}

/// Stacked bars of bytes per time bucket, one colour per lane.
fn render_timeline(page: &mut String, report: &SummaryReport) -> std::fmt::Result {
    let chart = report.timeline_counts.coarsened(MAX_TIMELINE_BARS);
    if chart.is_empty() {
        page.push_str("<p class=\"muted\">No packets.</p>\n");
        return Ok(());
    }
    const LEFT: f64 = 80.0;
    const WIDTH: f64 = 860.0;
    const TOP: f64 = 10.0;
    const HEIGHT: f64 = 220.0;
    let width_nanos = chart.width_nanos();
    let bytes_of = |bucket: &Bucket| values(bucket, |c| c.bytes);
    let max = chart
        .buckets()
        .map(|(_, b)| bytes_of(b).sum())
        .max()
        .unwrap_or(0)
        .max(1);
    let bar_width = WIDTH / chart.len() as f64;
    write!(
        page,
        "<figure>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 960 {}\" role=\"img\" \
         aria-label=\"Bytes per time bucket\">\n",
        TOP + HEIGHT + 26.0
    )?;
    // Horizontal rules at 0, half and the maximum, labelled.
    for (fraction, value) in [(0.0, 0), (0.5, max / 2), (1.0, max)] {
        let y = TOP + HEIGHT * (1.0 - fraction);
        writeln!(
            page,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT + WIDTH,
            LEFT - 6.0,
            y + 4.0,
            human_bytes(value)
        )?;
    }
    for (i, (start, bucket)) in chart.buckets().enumerate() {
        let bytes = bytes_of(bucket);
        if bytes.sum() == 0 {
            continue;
        }
        let x = LEFT + i as f64 * bar_width;
        write!(
            page,
            "<g><title>{}: {} bytes",
            bucket_start(start, width_nanos),
            human_count(bytes.sum())
        )?;
        for lane in Lane::ALL {
            if bytes.get(lane) > 0 {
                write!(
                    page,
                    ", {} {}",
                    lane_label(lane),
                    human_count(bytes.get(lane))
                )?;
            }
        }
        page.push_str("</title>");
        // Stacked from the bottom in lane order: assigned, unassigned, dynamic, no ports.
        let mut base = TOP + HEIGHT;
        for lane in Lane::ALL {
            if bytes.get(lane) == 0 {
                continue;
            }
            let h = bytes.get(lane) as f64 / max as f64 * HEIGHT;
            base -= h;
            write!(
                page,
                "<rect class=\"{}\" x=\"{x:.2}\" y=\"{base:.2}\" width=\"{:.2}\" height=\"{h:.2}\"/>",
                lane.as_str(),
                (bar_width * 0.9).max(0.5)
            )?;
        }
        page.push_str("</g>\n");
    }
    let first = chart
        .buckets()
        .next()
        .map(|(start, _)| bucket_start(start, width_nanos).to_string())
        .unwrap_or_default();
    let last = report
        .totals
        .last_seen
        .map(|t| t.to_string())
        .unwrap_or_default();
    write!(
        page,
        "<text x=\"{LEFT}\" y=\"{:.1}\">{first}</text>\
         <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{last}</text>\n</svg>\n",
        TOP + HEIGHT + 18.0,
        LEFT + WIDTH,
        TOP + HEIGHT + 18.0,
    )?;
    write!(
        page,
        "<figcaption>Each bar is {} of capture time.<ul class=\"legend\">",
        human_width(width_nanos as f64),
    )?;
    for lane in Lane::ALL {
        write!(
            page,
            "<li><span class=\"swatch {}\"></span>{}: {}</li>",
            lane.as_str(),
            lane_label(lane),
            human_bytes(chart.lane_total(lane).bytes)
        )?;
    }
    page.push_str("</ul></figcaption>\n</figure>\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_makes_markup_text_and_cuts_long_strings() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(escape("a\u{1}b"), "a\u{fffd}b");
        let long = "x".repeat(500);
        assert_eq!(escape(&long).chars().count(), MAX_TEXT + 1);
    }

    #[test]
    fn widths_read_in_the_unit_that_fits() {
        assert_eq!(human_width(500_000.0), "500 µs");
        assert_eq!(human_width(5e6), "5 ms");
        assert_eq!(human_width(300e9), "5 min");
        assert_eq!(human_width(604_800e9), "7 d");
    }

    #[test]
    fn tables_obey_top_and_the_hard_limit() {
        assert_eq!(shown_rows(10, 0), 10);
        assert_eq!(shown_rows(10, 3), 3);
        assert_eq!(shown_rows(100_000, 0), MAX_TABLE_ROWS);
        assert_eq!(shown_rows(100_000, 1_000_000), MAX_TABLE_ROWS);
    }
}
