//! The one integration-test binary. Each area of the product adds a module under `tests/it/`;
//! database tests use `nself::local::testing` (a real throwaway PostgreSQL started once for this
//! binary, or the server named by `NSELF_TEST_DATABASE_URL`), CLI tests run the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod it;
