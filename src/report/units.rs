//! Human units for tables: 1,234,567 packets, 2.9 MB, 71.2%.

/// Thousands separated by commas.
pub fn human_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes in SI units (kB = 1000 B), one decimal above 1 kB.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["kB", "MB", "GB", "TB", "PB", "EB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut value = n as f64;
    let mut unit = "B";
    for u in UNITS {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = u;
    }
    format!("{value:.1} {unit}")
}

/// A 0..1 fraction as a percentage with one decimal.
pub fn share_percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// A duration for people: `12.3 s`, `4 min 5 s`, `3 h 12 min`, `1648 d 3 h`.
pub fn human_duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 60.0 {
        return format!("{:.1} s", seconds.max(0.0));
    }
    let whole = seconds as u64;
    let (d, h, m, s) = (
        whole / 86_400,
        whole % 86_400 / 3600,
        whole % 3600 / 60,
        whole % 60,
    );
    match (d, h) {
        (0, 0) => format!("{m} min {s} s"),
        (0, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_two_units() {
        assert_eq!(human_duration(12.34), "12.3 s");
        assert_eq!(human_duration(245.0), "4 min 5 s");
        assert_eq!(human_duration(3.0 * 3600.0 + 720.0), "3 h 12 min");
        assert_eq!(human_duration(142_449_835.0), "1648 d 17 h");
    }

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(human_count(0), "0");
        assert_eq!(human_count(999), "999");
        assert_eq!(human_count(1000), "1,000");
        assert_eq!(human_count(1_234_567), "1,234,567");
    }

    #[test]
    fn bytes_scale_by_thousands() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1000), "1.0 kB");
        assert_eq!(human_bytes(2_931_377), "2.9 MB");
        assert_eq!(human_bytes(u64::MAX), "18.4 EB");
    }
}
