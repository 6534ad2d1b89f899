//! engine-uring: see the README; the engine lands with its issue.
