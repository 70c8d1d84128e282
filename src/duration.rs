//! Go's `time.ParseDuration` and `Duration.String()`, shared with the providers: the
//! implementation lives in `augur_provider_api::duration`.

pub use augur_provider_api::duration::*;
