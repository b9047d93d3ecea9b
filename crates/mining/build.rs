// The same data-set cfgs as rankforge-data's tests get (`cfg(shared_data_scifact)`, ...):
// see the comments in crates/data/build.rs.
include!("../data/build.rs");
