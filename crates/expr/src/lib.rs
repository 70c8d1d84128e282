//! placeholder, replaced by the expr implementation
