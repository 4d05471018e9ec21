//! Bidirectional flows and the rule that picks a flow's service port.
