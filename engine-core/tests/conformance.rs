//! The shared conformance suite on the in-memory engine.

engine_core::conformance_suite!(engine_core::testing::MemoryUnderTest);
