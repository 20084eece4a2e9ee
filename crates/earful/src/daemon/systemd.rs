//! systemd's notification protocol, through the `sd-notify` crate: `READY=1` once the daemon
//! serves, `RELOADING=1` … `READY=1` around a reload, `STOPPING=1` on shutdown and `WATCHDOG=1`
//! while the writer and the runtime are healthy. Without `NOTIFY_SOCKET` every call does
//! nothing.

use std::time::Duration;

use sd_notify::NotifyState;

fn send(states: &[NotifyState<'_>]) {
    if let Err(error) = sd_notify::notify(states) {
        tracing::warn!(%error, "cannot notify the service manager");
    }
}

/// The daemon serves.
pub fn ready() {
    send(&[NotifyState::Ready]);
}

/// A reload starts (`Type=notify-reload` wants the monotonic time with it).
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

/// The daemon is shutting down.
pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

/// The daemon is alive and its writer healthy.
pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// How often to ping the watchdog: half of `WATCHDOG_USEC`, when systemd set one for us.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled().map(|timeout| timeout / 2)
}
