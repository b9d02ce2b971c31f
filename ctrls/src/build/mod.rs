//! Stream -> controls builders, doing what a stateless client does.
