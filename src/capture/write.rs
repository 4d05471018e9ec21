//! pcap and pcapng writers over `impl Write`. Skeleton: to be written.
