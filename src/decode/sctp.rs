//! SCTP common header view (RFC 9260 section 3.1). To be written.
