//! DCCP generic header view (RFC 4340 section 5.1). To be written.
