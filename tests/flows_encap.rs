//! `portnote flows`' link fields (issue 15): `vlan`, `inner_vlan` and the tunnel's outer
//! endpoints (`outer_src`, `outer_dst`, `outer_src_port`, `outer_dst_port`) are those of each
//! flow's first packet. Checked on generated VLAN, QinQ, VXLAN and GRE captures against what
//! the generator wrote, and on those and the public captures with tags or tunnels against
//! tshark's view of each flow's first frame.

use crate::util;

use portnote_synth::{Kind, Link, SynthConfig, Tunnel};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `flows` (NDJSON, one thread) of one file.
fn flow_records(file: &Path) -> Vec<Value> {
    let name = file.to_str().unwrap();
    let (code, stdout, stderr) = util::portnote(&["flows", "--threads", "1", name]);
    assert!(code == 0 || code == 2, "{name}: exit {code}: {stderr}");
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// A generated capture in `dir`.
fn synth(dir: &Path, name: &str, config: SynthConfig) -> PathBuf {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).unwrap();
    config.write(std::io::BufWriter::new(file)).unwrap();
    path
}

fn u64_of(v: &Value) -> Option<u64> {
    v.as_u64()
}

#[test]
fn vlan_and_qinq_captures_give_each_record_its_tags() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("vlan.pcap", Link::Vlan(4094), Some(4094u16), None::<u16>),
        ("qinq.pcap", Link::QinQ(300, 7), Some(300), Some(7)),
    ];
    for (name, link, vlan, inner_vlan) in cases {
        let file = synth(
            dir.path(),
            name,
            SynthConfig::new(Kind::Mix).packets(2_000).link(link),
        );
        let records = flow_records(&file);
        assert!(records.len() > 20, "{name}: {} records", records.len());
        for r in &records {
            assert_eq!(u64_of(&r["vlan"]), vlan.map(u64::from), "{name}: {r}");
            assert_eq!(
                u64_of(&r["inner_vlan"]),
                inner_vlan.map(u64::from),
                "{name}: {r}"
            );
            assert!(r["outer_src"].is_null() && r["outer_dst"].is_null(), "{r}");
            assert!(r["tunnel"].is_null(), "{r}");
        }
        // CSV has the same values in the columns its header names.
        let (code, csv, stderr) =
            util::portnote(&["flows", "--format", "csv", file.to_str().unwrap()]);
        assert_eq!(code, 0, "{stderr}");
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let at = |n: &str| header.iter().position(|h| *h == n).unwrap();
        let mut rows = 0;
        for line in lines {
            let values: Vec<&str> = line.split(',').collect();
            assert_eq!(
                values[at("vlan")],
                vlan.map(|v| v.to_string()).unwrap_or_default()
            );
            assert_eq!(
                values[at("inner_vlan")],
                inner_vlan.map(|v| v.to_string()).unwrap_or_default()
            );
            assert_eq!(values[at("outer_src")], "");
            rows += 1;
        }
        assert_eq!(rows, records.len(), "{name}");
    }
}

#[test]
fn vxlan_and_gre_captures_give_each_record_the_outer_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let tunnel_ends = ["192.0.2.1", "192.0.2.2"];
    for (name, tunnel, kind, udp) in [
        ("vxlan.pcap", Tunnel::Vxlan, "vxlan", true),
        ("gre.pcap", Tunnel::Gre, "gre", false),
    ] {
        let file = synth(
            dir.path(),
            name,
            SynthConfig::new(Kind::Tunnels).tunnel(tunnel),
        );
        let records = flow_records(&file);
        assert!(!records.is_empty(), "{name}");
        let mut from_client_side = 0;
        for r in &records {
            assert_eq!(r["tunnel"], kind, "{name}: {r}");
            let (src, dst) = (r["outer_src"].as_str(), r["outer_dst"].as_str());
            // The generator's tunnel endpoints, one each way, never the inner addresses.
            let mut ends = [src.unwrap(), dst.unwrap()];
            ends.sort_unstable();
            assert_eq!(ends, tunnel_ends, "{name}: {r}");
            assert_ne!(src, r["client"].as_str());
            from_client_side += usize::from(src == Some("192.0.2.1"));
            let ports = (u64_of(&r["outer_src_port"]), u64_of(&r["outer_dst_port"]));
            if udp {
                // The generator's flows start at the client, whose side sends to 4789 from an
                // entropy port (RFC 7348 section 5).
                assert_eq!(ports.1, Some(4789), "{name}: {r}");
                assert!(ports.0.unwrap() >= 49152, "{name}: {r}");
            } else {
                assert_eq!(ports, (None, None), "{name}: {r}");
            }
            assert!(r["vlan"].is_null() && r["inner_vlan"].is_null(), "{r}");
        }
        // First packets come from the client side of the tunnel.
        assert_eq!(from_client_side, records.len(), "{name}");
    }
}

/// tshark's view of each frame: (VLAN ids of the frame's own link, outermost IP source and
/// destination when the frame is tunnelled).
struct FrameLink {
    vlans: Vec<u64>,
    outer: Option<(String, String)>,
}

fn tshark_frames(file: &Path) -> HashMap<u64, FrameLink> {
    let out = Command::new("tshark")
        .env("WIRESHARK_CONFIG_DIR", tempfile::tempdir().unwrap().path())
        .args(["-r", file.to_str().unwrap(), "-n"])
        .args(["-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE"])
        .args(["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a"])
        .args(["-E", "aggregator=,"])
        .args([
            "-e",
            "frame.number",
            "-e",
            "frame.protocols",
            "-e",
            "vlan.id",
        ])
        .args([
            "-e", "ip.src", "-e", "ip.dst", "-e", "ipv6.src", "-e", "ipv6.dst",
        ])
        .args(["-e", "ieee8021ad.id"])
        .output()
        .unwrap();
    assert!(out.status.success(), "tshark on {}", file.display());
    let mut frames = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (Some(number), Some(protocols)) = (f.first(), f.get(1)) else {
            continue;
        };
        let layers: Vec<&str> = protocols.split(':').collect();
        // The frame's own tags are those before its first IP header (tags of an Ethernet
        // frame inside a tunnel come after it).
        let first_ip = layers
            .iter()
            .position(|l| *l == "ip" || *l == "ipv6")
            .unwrap_or(layers.len());
        // tshark names an 802.1Q tag `vlan` and an 802.1ad (0x88a8) one `ieee8021ad`, each
        // with its own id field: take them in the frame's layer order.
        let ids = |column: usize| -> Vec<u64> {
            f.get(column)
                .unwrap_or(&"")
                .split(',')
                .filter_map(|v| v.parse().ok())
                .collect()
        };
        let (mut q_ids, mut ad_ids) = (ids(2).into_iter(), ids(7).into_iter());
        let own_tags: Vec<u64> = layers[..first_ip]
            .iter()
            .filter_map(|l| match *l {
                "vlan" => q_ids.next(),
                "ieee8021ad" => ad_ids.next(),
                _ => None,
            })
            .collect();
        let ip_layers = layers
            .iter()
            .filter(|l| **l == "ip" || **l == "ipv6")
            .count();
        let first = |column: usize| {
            f.get(column)
                .and_then(|v| v.split(',').next())
                .unwrap_or("")
                .to_string()
        };
        let outer = (ip_layers > 1).then(|| match layers.get(first_ip) {
            Some(&"ip") => (first(3), first(4)),
            _ => (first(5), first(6)),
        });
        frames.insert(
            number.parse().unwrap(),
            FrameLink {
                vlans: own_tags.into_iter().take(2).collect(),
                outer,
            },
        );
    }
    frames
}

/// Each record's first frame, by the flow ids `annotate` prints per frame.
fn first_frames(file: &Path) -> HashMap<u64, u64> {
    let (_, records, stderr) = util::annotate_records(file);
    assert!(!records.is_empty(), "{}: {stderr}", file.display());
    let mut first = HashMap::new();
    for r in &records {
        if let (Some(flow), Some(frame)) = (r["flow"].as_u64(), r["frame"].as_u64()) {
            first.entry(flow).or_insert(frame);
        }
    }
    first
}

/// Every record's link fields equal tshark's view of the flow's first frame; the number of
/// records checked that had tags and that were tunnelled.
fn check_against_tshark(file: &Path) -> (usize, usize) {
    let name = file.display();
    let frames = tshark_frames(file);
    let first = first_frames(file);
    let (mut tagged, mut tunnelled) = (0, 0);
    for r in flow_records(file) {
        let flow = r["flow"].as_u64().unwrap();
        let frame = first[&flow];
        let Some(link) = frames.get(&frame) else {
            panic!("{name}: frame {frame} of flow {flow} not in tshark's output");
        };
        let ours: Vec<u64> = [&r["vlan"], &r["inner_vlan"]]
            .into_iter()
            .filter_map(Value::as_u64)
            .collect();
        assert_eq!(ours, link.vlans, "{name}: frame {frame}: {r}");
        tagged += usize::from(!ours.is_empty());
        if r["tunnel"].is_null() {
            assert!(r["outer_src"].is_null(), "{name}: {r}");
            continue;
        }
        let Some((src, dst)) = &link.outer else {
            panic!("{name}: frame {frame}: tshark sees one IP header: {r}");
        };
        assert_eq!(r["outer_src"].as_str(), Some(src.as_str()), "{name}: {r}");
        assert_eq!(r["outer_dst"].as_str(), Some(dst.as_str()), "{name}: {r}");
        tunnelled += 1;
    }
    (tagged, tunnelled)
}

/// The public captures whose tshark oracle shows VLAN tags or tunnels.
fn public_with_tags_or_tunnels(shared: &Path) -> Vec<PathBuf> {
    util::public_captures(shared)
        .into_iter()
        .filter(|file| {
            let mut oracle = file.clone().into_os_string();
            oracle.push(".oracle.tsv");
            std::fs::read_to_string(&oracle).is_ok_and(|text| {
                text.lines().skip(1).any(|line| {
                    let f: Vec<&str> = line.split('\t').collect();
                    f.get(13).is_some_and(|flags| flags.contains("tunnel"))
                        || f.get(14).is_some_and(|p| p.split(':').any(|l| l == "vlan"))
                })
            })
        })
        .collect()
}

#[test]
fn link_fields_are_tsharks_view_of_each_flows_first_frame() {
    let what = "flows' vlan and outer endpoints against tshark";
    if !util::require(what, &[util::Need::Tool("tshark")]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut files = vec![
        synth(
            dir.path(),
            "qinq.pcap",
            SynthConfig::new(Kind::Mix)
                .packets(500)
                .link(Link::QinQ(4000, 12)),
        ),
        synth(
            dir.path(),
            "vxlan.pcap",
            SynthConfig::new(Kind::Tunnels).tunnel(Tunnel::Vxlan),
        ),
        synth(
            dir.path(),
            "gre.pcap",
            SynthConfig::new(Kind::Tunnels).tunnel(Tunnel::Gre),
        ),
        synth(dir.path(), "tunnels.pcap", SynthConfig::new(Kind::Tunnels)),
    ];
    let generated = files.len();
    if let Some(shared) = util::shared_dir(what) {
        let public = public_with_tags_or_tunnels(&shared);
        assert!(public.len() >= 10, "{} public captures", public.len());
        files.extend(public);
    }
    let (mut tagged, mut tunnelled) = (0, 0);
    for file in &files {
        let (t, u) = check_against_tshark(file);
        tagged += t;
        tunnelled += u;
    }
    // Not vacuous: records with tags and tunnels were compared.
    assert!(tagged >= 20, "{tagged} tagged records");
    assert!(tunnelled >= 10, "{tunnelled} tunnelled records");
    if files.len() > generated {
        util::say_uncaptured(&format!(
            "{what}: {tagged} tagged and {tunnelled} tunnelled records on {} captures",
            files.len()
        ));
    }
}
