//! ColBERT late interaction (Khattab & Zaharia, SIGIR 2020): per-token vectors and MaxSim.
//! Work in progress (issue 26).
