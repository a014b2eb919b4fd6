//! The whole flow driven by an independent, certified-grade client library (placeholder:
//! being written).
