//! The WeChat client (being written).
