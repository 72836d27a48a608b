//! The one integration-test binary; each area is a module under `tests/it/`.
// A failed expectation in a test helper is a test failure: panicking is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod it;
