//! Event times. An Event written through core/v1 carries lastTimestamp; one written
//! through events.k8s.io/v1 carries only eventTime (kubectl's printer falls back the
//! same way: pkg/printers/internalversion/printers.go, printEvent).

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Event;

/// When an event last happened: lastTimestamp, else eventTime, else firstTimestamp.
pub fn event_time(event: &Event) -> Option<Timestamp> {
    event
        .last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| event.event_time.as_ref().map(|t| t.0))
        .or_else(|| event.first_timestamp.as_ref().map(|t| t.0))
}
