//! Earful's alerts: a spike detector for per-bucket mention counts, the alert lifecycle
//! (pending → firing → resolved, one alert per episode), the evidence each alert carries, and
//! the channels that deliver it.
//!
//! What this crate must never do: count mentions itself (counts come from the index after a
//! commit), notify twice for one alert event, or put a secret in a log line or error.

pub mod alert;
pub mod deliver;
pub mod detector;
pub mod evaluate;
pub mod evidence;
pub mod lifecycle;
pub mod notify;

pub use alert::{Alert, Evidence, ALERT_FORMAT_VERSION};
pub use deliver::{AlertMetrics, Deliverer, DeliveryReport, Due, RetryPolicy};
pub use detector::{Detector, DetectorError, DetectorSettings, Observation, Reading};
pub use evaluate::{
    alert_id, EvaluateError, EvaluationReport, Evaluator, EvaluatorSettings, Route,
};
pub use lifecycle::{AlertKind, AlertTracker, EpisodeId, SeriesMonitor, Step, Transition};
